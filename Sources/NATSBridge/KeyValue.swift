import CNATS
import Foundation
import Synchronization

/// A KV bucket's configuration.
public struct KeyValueConfig: Sendable {
    public var bucket: String
    public var description: String?
    /// Revisions kept per key (1...64).
    public var history: UInt8 = 1
    /// Entries expire this long after they were written; nil keeps them.
    public var ttl: Duration?
    /// Largest value accepted; nil means the server's limit.
    public var maxValueSize: Int32?
    /// Largest bucket; nil means unlimited.
    public var maxBytes: Int64?
    public var storage: StreamConfig.Storage = .file
    /// Copies kept in a cluster.
    public var replicas = 1

    public init(bucket: String) { self.bucket = bucket }
}

/// What an entry records.
public enum KeyValueOperation: String, Sendable {
    case put, delete, purge
}

/// One revision of a key.
public struct KeyValueEntry: Sendable, Equatable {
    public var bucket: String
    public var key: String
    /// The value (empty for a delete or purge).
    public var value: Data
    /// The bucket-wide revision of this write; pass it to `update` for compare-and-swap.
    public var revision: UInt64
    /// When the server stored it.
    public var created: Date
    public var operation: KeyValueOperation

    init(_ e: OpaquePointer) {
        bucket = kvEntry_Bucket(e).map { String(cString: $0) } ?? ""
        key = kvEntry_Key(e).map { String(cString: $0) } ?? ""
        let n = Int(kvEntry_ValueLen(e))
        value = n > 0 ? kvEntry_Value(e).map { Data(bytes: $0, count: n) } ?? Data() : Data()
        revision = kvEntry_Revision(e)
        created = Date(timeIntervalSince1970: Double(kvEntry_Created(e)) / 1e9)
        switch kvEntry_Operation(e) {
        case kvOp_Delete: operation = .delete
        case kvOp_Purge: operation = .purge
        default: operation = .put
        }
    }
}

extension JetStream {
    /// Creates the bucket (or returns the existing one with the same name).
    public func createKeyValue(_ config: KeyValueConfig) async throws -> KeyValueBucket {
        let js = self.js
        let handle = try await Blocking.run { () -> CHandle in
            let strings = CStrings()
            var c = kvConfig()
            try check(kvConfig_Init(&c), "kvConfig_Init")
            c.Bucket = strings.add(config.bucket)
            c.Description = strings.add(config.description)
            c.History = config.history
            if let ttl = config.ttl { c.TTL = ttl.nanoseconds }
            if let v = config.maxValueSize { c.MaxValueSize = v }
            if let v = config.maxBytes { c.MaxBytes = v }
            c.StorageType = config.storage == .file ? js_FileStorage : js_MemoryStorage
            c.Replicas = Int32(config.replicas)
            var kv: OpaquePointer?
            try check(js_CreateKeyValue(&kv, js.raw, &c), "create KV bucket '\(config.bucket)'")
            guard let kv else { throw NATSError.invalidArgument("js_CreateKeyValue returned nothing") }
            return CHandle(raw: kv)
        }
        return KeyValueBucket(jetStream: self, name: config.bucket, handle: handle)
    }

    /// Binds to an existing bucket; throws `notFound` if there is none.
    public func keyValue(bucket: String) async throws -> KeyValueBucket {
        let js = self.js
        let handle = try await Blocking.run { () -> CHandle in
            var kv: OpaquePointer?
            try check(js_KeyValue(&kv, js.raw, bucket), "KV bucket '\(bucket)'")
            guard let kv else { throw NATSError.notFound("KV bucket '\(bucket)'") }
            return CHandle(raw: kv)
        }
        return KeyValueBucket(jetStream: self, name: bucket, handle: handle)
    }

    /// Deletes a bucket and all its keys.
    public func deleteKeyValue(bucket: String) async throws {
        let js = self.js
        try await Blocking.run { try check(js_DeleteKeyValue(js.raw, bucket), "delete KV bucket '\(bucket)'") }
    }
}

/// A JetStream KV bucket: put, get, compare-and-swap update, delete, watch.
public final class KeyValueBucket: Sendable {
    /// The bucket's name.
    public let name: String
    let jetStream: JetStream
    let kv: CHandle

    init(jetStream: JetStream, name: String, handle: CHandle) {
        self.jetStream = jetStream
        self.name = name
        self.kv = handle
    }

    deinit { kvStore_Destroy(kv.raw) }

    /// Writes `value`; returns the new revision.
    @discardableResult
    public func put(_ key: String, _ value: Data) async throws -> UInt64 {
        let kv = self.kv, bucket = name
        return try await Blocking.run {
            var rev: UInt64 = 0
            let s = value.withUnsafeBytes { kvStore_Put(&rev, kv.raw, key, $0.baseAddress, Int32($0.count)) }
            try check(s, "put '\(key)' in '\(bucket)'")
            return rev
        }
    }

    /// The latest value of `key`, or nil if it has none (never written, deleted or purged).
    public func get(_ key: String) async throws -> KeyValueEntry? {
        let kv = self.kv
        let bucket = name
        return try await Blocking.run { try Self.entry(kv, key, bucket: bucket) }
    }

    private static func entry(_ kv: CHandle, _ key: String, bucket: String) throws -> KeyValueEntry? {
        var e: OpaquePointer?
        let s = kvStore_Get(&e, kv.raw, key)
        if s == NATS_NOT_FOUND { return nil }
        try check(s, "get '\(key)' from '\(bucket)'")
        guard let e else { return nil }
        defer { kvEntry_Destroy(e) }
        return KeyValueEntry(e)
    }

    /// Writes `value` only if the key's latest revision is `expectedRevision`; otherwise throws
    /// `NATSError.revisionMismatch`. Returns the new revision.
    @discardableResult
    public func update(_ key: String, _ value: Data, expectedRevision: UInt64) async throws -> UInt64 {
        let kv = self.kv, bucket = name
        return try await Blocking.run {
            var rev: UInt64 = 0
            let s = value.withUnsafeBytes {
                kvStore_Update(&rev, kv.raw, key, $0.baseAddress, Int32($0.count), expectedRevision)
            }
            if s == NATS_OK { return rev }
            let failure = natsFailure(s, "update '\(key)' in '\(bucket)'")
            try Self.classify(failure, kv: kv, key: key, bucket: bucket, expected: expectedRevision)
        }
    }

    /// Writes `value` only if the key has no value; otherwise throws `revisionMismatch`
    /// (expected 0). Returns the new revision.
    @discardableResult
    public func create(_ key: String, _ value: Data) async throws -> UInt64 {
        let kv = self.kv, bucket = name
        return try await Blocking.run {
            var rev: UInt64 = 0
            let s = value.withUnsafeBytes { kvStore_Create(&rev, kv.raw, key, $0.baseAddress, Int32($0.count)) }
            if s == NATS_OK { return rev }
            let failure = natsFailure(s, "create '\(key)' in '\(bucket)'")
            try Self.classify(failure, kv: kv, key: key, bucket: bucket, expected: 0)
        }
    }

    /// libnats reports a failed compare-and-swap as a generic error; the key's current revision
    /// tells whether it was a conflict (typed) or something else (rethrown as is).
    private static func classify(_ failure: NATSError, kv: CHandle, key: String, bucket: String,
                                 expected: UInt64) throws -> Never {
        let text: String
        switch failure {
        case .status(_, _, let t), .jetStream(_, _, let t): text = t
        default: throw failure
        }
        var conflict = text.contains("wrong last sequence")
        if !conflict, case .success(let current) = Result(catching: { try entry(kv, key, bucket: bucket) }) {
            conflict = (current?.revision ?? 0) != expected
        }
        if conflict { throw NATSError.revisionMismatch(key: key, expected: expected, text: text) }
        throw failure
    }

    /// Deletes the key (a delete marker; history is kept).
    public func delete(_ key: String) async throws {
        let kv = self.kv, bucket = name
        try await Blocking.run { try check(kvStore_Delete(kv.raw, key), "delete '\(key)' from '\(bucket)'") }
    }

    /// Removes the key and all its history.
    public func purge(_ key: String) async throws {
        let kv = self.kv, bucket = name
        try await Blocking.run { try check(kvStore_Purge(kv.raw, key, nil), "purge '\(key)' from '\(bucket)'") }
    }

    /// Watches keys matching `keys` (wildcards allowed; `>` is every key).
    public func watch(_ keys: String = ">", includeHistory: Bool = false, ignoreDeletes: Bool = false) throws -> KeyValueWatch {
        var opts = kvWatchOptions()
        try check(kvWatchOptions_Init(&opts), "kvWatchOptions_Init")
        opts.IncludeHistory = includeHistory
        opts.IgnoreDeletes = ignoreDeletes
        var w: OpaquePointer?
        try check(kvStore_Watch(&w, kv.raw, keys, &opts), "watch '\(keys)' in '\(name)'")
        guard let w else { throw NATSError.invalidArgument("kvStore_Watch returned nothing") }
        return KeyValueWatch(bucket: self, watcher: CHandle(raw: w))
    }
}
