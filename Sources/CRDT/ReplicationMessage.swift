import Foundation
import JSONCodec

/// A position in a replica's stream of delta batches: the replica's incarnation (`epoch`, new on
/// every start) and the batch sequence number within it.
public struct SequenceMark: Sendable, Hashable, Codable {
    /// The sender's incarnation.
    public let epoch: UInt64
    /// The last batch covered.
    public let seq: UInt64

    /// A mark.
    public init(epoch: UInt64, seq: UInt64) {
        self.epoch = epoch
        self.seq = seq
    }
}

/// What replicators send each other. Every message carries `version`; decoding is bounded in size
/// and checks the version before anything else.
public struct ReplicationMessage<Data: DeltaReplicatedData>: Sendable, Hashable, Codable {
    /// The protocol version this code speaks.
    public static var currentVersion: Int { 1 }

    /// The message's protocol version.
    public let version: Int
    /// What it says.
    public let body: Body

    /// The kinds of message.
    public enum Body: Sendable, Hashable, Codable {
        /// The sender's own delta batches `from...to` of incarnation `epoch`, joined per key.
        /// A transfer split over several messages is acknowledged on its `last` part.
        case deltas(epoch: UInt64, from: UInt64, to: UInt64, last: Bool, entries: [String: Data])
        /// The receiver has every batch of the sender's incarnation `epoch` up to `seq`.
        case ack(epoch: UInt64, seq: UInt64)
        /// Full values of some keys; `covers` (on the last part only) says that they include the
        /// sender's batches up to that mark, so the receiver acknowledges it.
        case state(covers: SequenceMark?, entries: [String: Data])
        /// Anti-entropy, step 1: one hash per bucket of keys.
        case digest(buckets: [UInt64])
        /// Step 2: per-key hashes of every key in the buckets that differed.
        case keyDigest(buckets: [Int], hashes: [String: UInt64])
        /// Step 3: the keys whose full values the sender wants.
        case request(keys: [String])
    }

    /// A message of the current version.
    public init(_ body: Body) {
        version = Self.currentVersion
        self.body = body
    }

    @usableFromInline
    init(version: Int, body: Body) {
        self.version = version
        self.body = body
    }

    /// The deterministic encoding.
    public func encoded() throws -> Foundation.Data { try CRDTCoding.encode(self) }

    private struct VersionProbe: Decodable { let version: Int }

    /// Decodes a message from the network: rejects more than `limit` bytes before parsing, then a
    /// version other than `currentVersion`, then anything malformed.
    ///
    /// One pass of `JSONReader` reads the body and the version; only when that fails is the
    /// document read again for the version alone, to report what `JSONDecoder` reading the version
    /// first would (`decodeWithFoundation`, which the tests hold this to).
    @inlinable
    public static func decode(_ bytes: Foundation.Data, limit: Int) throws(ReplicationDecodeError) -> ReplicationMessage {
        guard bytes.count <= limit else { throw .oversized(size: bytes.count, limit: limit) }
        if JSONReader.usesFoundation(bytes) { return try decodeWithFoundation(bytes, limit: limit) }
        var version: Int?
        var body: Body?
        var failure: Error?
        do {
            try JSONReader.read(bytes) { r in
                try r.readFields(["body", "version"], optional: ["body", "version"]) { r, k in
                    if k == 0 { body = try Body.read(from: &r) } else { version = try r.readInteger() }
                }
            }
        } catch {
            failure = error
        }
        if failure != nil || version == nil || version != currentVersion {
            do {
                version = try JSONReader.read(bytes) { r in
                    var v: Int?
                    try r.readFields(["version"]) { r, _ in v = try r.readInteger() }
                    return v
                }
            } catch {
                throw .malformed("no version field: \(describe(error))")
            }
        }
        guard let version, version == currentVersion else { throw .unsupportedVersion(version ?? 0) }
        if let failure { throw .malformed(describe(failure)) }
        guard let body else { throw .malformed("key 'body' not found") }
        if case .deltas(_, let from, let to, _, _) = body, from == 0 || from > to {
            throw .malformed("deltas: range \(from)...\(to) is empty or starts at 0")
        }
        return ReplicationMessage(version: version, body: body)
    }

    /// `decode` with Foundation's `JSONDecoder` alone: the reference the fast path is held to,
    /// and the path for bytes in a form only `JSONDecoder` reads (a byte-order mark, UTF-16).
    public static func decodeWithFoundation(_ bytes: Foundation.Data, limit: Int) throws(ReplicationDecodeError) -> ReplicationMessage {
        guard bytes.count <= limit else { throw .oversized(size: bytes.count, limit: limit) }
        let decoder = JSONDecoder()
        let probe: VersionProbe
        do { probe = try decoder.decode(VersionProbe.self, from: bytes) } catch {
            throw .malformed("no version field: \(Self.describe(error))")
        }
        guard probe.version == currentVersion else { throw .unsupportedVersion(probe.version) }
        let message: ReplicationMessage
        do { message = try decoder.decode(ReplicationMessage.self, from: bytes) } catch {
            throw .malformed(Self.describe(error))
        }
        if case .deltas(_, let from, let to, _, _) = message.body, from == 0 || from > to {
            throw .malformed("deltas: range \(from)...\(to) is empty or starts at 0")
        }
        return message
    }

    @usableFromInline
    static func describe(_ error: Error) -> String {
        switch error {
        case let e as JSONReadError:
            return e.description
        case DecodingError.dataCorrupted(let c), DecodingError.typeMismatch(_, let c),
             DecodingError.valueNotFound(_, let c), DecodingError.keyNotFound(_, let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "\(path): \(c.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

extension ReplicationMessage.Body: JSONReadable {
    @inlinable
    public static func read(from reader: inout JSONReader) throws -> ReplicationMessage.Body {
        var body: ReplicationMessage.Body?
        try reader.readCase(["deltas", "ack", "state", "digest", "keyDigest", "request"]) { r, kind in
            body = try readCase(kind, from: &r)
        }
        guard let body else { throw reader.error("no message kind") }
        return body
    }

    @inlinable
    static func readEntries(from r: inout JSONReader) throws -> [String: Data] {
        var out: [String: Data] = [:]
        // A value takes at least ~60 bytes; guessing low only costs a rehash or two.
        out = try r.readMap(capacity: r.bytesLeft / 64) { r in try Data.read(from: &r) }
        return out
    }

    @inlinable
    static func readCase(_ kind: Int, from r: inout JSONReader) throws -> ReplicationMessage.Body {
        switch kind {
        case 0:
            var epoch: UInt64?, from: UInt64?, to: UInt64?, last: Bool?, entries: [String: Data]?
            try r.readFields(["epoch", "from", "to", "last", "entries"]) { r, k in
                switch k {
                case 0: epoch = try r.readInteger()
                case 1: from = try r.readInteger()
                case 2: to = try r.readInteger()
                case 3: last = try r.readBool()
                default: entries = try readEntries(from: &r)
                }
            }
            guard let epoch, let from, let to, let last, let entries else { throw r.error("incomplete deltas") }
            return .deltas(epoch: epoch, from: from, to: to, last: last, entries: entries)
        case 1:
            var epoch: UInt64?, seq: UInt64?
            try r.readFields(["epoch", "seq"]) { r, k in
                if k == 0 { epoch = try r.readInteger() } else { seq = try r.readInteger() }
            }
            guard let epoch, let seq else { throw r.error("incomplete ack") }
            return .ack(epoch: epoch, seq: seq)
        case 2:
            var covers: SequenceMark?, entries: [String: Data]?
            try r.readFields(["covers", "entries"], optional: ["covers"]) { r, k in
                if k == 0 {
                    covers = try r.readNull() ? nil : SequenceMark.read(from: &r)
                } else {
                    entries = try readEntries(from: &r)
                }
            }
            guard let entries else { throw r.error("incomplete state") }
            return .state(covers: covers, entries: entries)
        case 3:
            var buckets: [UInt64] = []
            try r.readFields(["buckets"]) { r, _ in
                try r.readArray { r, _ in buckets.append(try r.readInteger()) }
            }
            return .digest(buckets: buckets)
        case 4:
            var buckets: [Int] = [], hashes: [String: UInt64] = [:]
            try r.readFields(["buckets", "hashes"]) { r, k in
                if k == 0 {
                    try r.readArray { r, _ in buckets.append(try r.readInteger()) }
                } else {
                    hashes = try r.readMap { r in try r.readInteger() }
                }
            }
            return .keyDigest(buckets: buckets, hashes: hashes)
        default:
            var keys: [String] = []
            try r.readFields(["keys"]) { r, _ in
                try r.readArray { r, _ in keys.append(try r.readString()) }
            }
            return .request(keys: keys)
        }
    }
}

extension ReplicationMessage: JSONWritable {
    public func write(to writer: inout JSONWriter) throws {
        writer.raw(#"{"body":"#)
        switch body {
        case .deltas(let epoch, let from, let to, let last, let entries):
            writer.raw(#"{"deltas":{"entries":"#)
            try writer.object(entries, key: { $0 }) { w, v in try v.write(to: &w) }
            writer.raw(#","epoch":"#)
            writer.integer(epoch)
            writer.raw(#","from":"#)
            writer.integer(from)
            writer.raw(#","last":"#)
            writer.bool(last)
            writer.raw(#","to":"#)
            writer.integer(to)
        case .ack(let epoch, let seq):
            writer.raw(#"{"ack":{"epoch":"#)
            writer.integer(epoch)
            writer.raw(#","seq":"#)
            writer.integer(seq)
        case .state(let covers, let entries):
            writer.raw(#"{"state":{"#)
            if let covers {
                writer.raw(#""covers":{"epoch":"#)
                writer.integer(covers.epoch)
                writer.raw(#","seq":"#)
                writer.integer(covers.seq)
                writer.raw("},")
            }
            writer.raw(#""entries":"#)
            try writer.object(entries, key: { $0 }) { w, v in try v.write(to: &w) }
        case .digest(let buckets):
            writer.raw(#"{"digest":{"buckets":"#)
            writer.array(buckets) { w, b in w.integer(b) }
        case .keyDigest(let buckets, let hashes):
            writer.raw(#"{"keyDigest":{"buckets":"#)
            writer.array(buckets) { w, b in w.integer(b) }
            writer.raw(#","hashes":"#)
            writer.object(hashes, key: { $0 }) { w, h in w.integer(h) }
        case .request(let keys):
            writer.raw(#"{"request":{"keys":"#)
            writer.array(keys) { w, k in w.string(k) }
        }
        writer.raw(#"}},"version":"#)
        writer.integer(version)
        writer.raw("}")
    }
}

extension SequenceMark: JSONReadable {
    public static func read(from reader: inout JSONReader) throws -> SequenceMark {
        var epoch: UInt64?, seq: UInt64?
        try reader.readFields(["epoch", "seq"]) { r, k in
            if k == 0 { epoch = try r.readInteger() } else { seq = try r.readInteger() }
        }
        guard let epoch, let seq else { throw reader.error("incomplete sequence mark") }
        return SequenceMark(epoch: epoch, seq: seq)
    }
}

/// Why bytes from a peer were not accepted as a replication message.
public enum ReplicationDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Larger than the bound; not parsed at all.
    case oversized(size: Int, limit: Int)
    /// A version this code does not speak.
    case unsupportedVersion(Int)
    /// Not a well-formed message; names the field where parsing failed.
    case malformed(String)

    public var description: String {
        switch self {
        case .oversized(let size, let limit): return "replication message of \(size) bytes exceeds the \(limit)-byte limit"
        case .unsupportedVersion(let v): return "replication message version \(v) is not supported (expected \(ReplicationMessage<GCounter>.currentVersion))"
        case .malformed(let what): return "malformed replication message: \(what)"
        }
    }
}

/// A message that carries values (`deltas` or `state`) written from entries already in their
/// deterministic encoding, so a transfer of thousands of values splices bytes instead of running
/// every value through the JSON encoder again. The result decodes to the same message as
/// `ReplicationMessage.encoded()` of it (`ReplicationMessageTests`).
struct SplicedEntries {
    /// What the message says besides its entries.
    enum Header {
        case deltas(epoch: UInt64, from: UInt64, to: UInt64, last: Bool)
        case state(covers: SequenceMark?)
    }

    /// One entry: the key as a JSON string and the value's encoding.
    struct Entry {
        let key: String
        let quotedKey: [UInt8]
        let bytes: Data
        /// What the entry adds to a message.
        var size: Int { quotedKey.count + 2 + bytes.count }

        init(key: String, bytes: Data) {
            self.key = key
            self.quotedKey = SplicedEntries.quoted(key)
            self.bytes = bytes
        }
    }

    /// An upper bound of what a message adds around its entries.
    static let envelopeBytes = 256

    /// The message's bytes; `entries` must be sorted by key and have distinct keys.
    static func encode(_ header: Header, _ entries: [Entry]) -> Data {
        var out = Data()
        out.reserveCapacity(entries.reduce(envelopeBytes) { $0 + $1.size })
        func put(_ s: String) { out.append(contentsOf: s.utf8) }
        func putEntries() {
            put(#""entries":{"#)
            for (i, e) in entries.enumerated() {
                if i > 0 { put(",") }
                out.append(contentsOf: e.quotedKey)
                put(":")
                out.append(e.bytes)
            }
            put("}")
        }
        put(#"{"body":{"#)
        switch header {
        case .deltas(let epoch, let from, let to, let last):
            put(#""deltas":{"#)
            putEntries()
            put(#","epoch":\#(epoch),"from":\#(from),"last":\#(last),"to":\#(to)}"#)
        case .state(let covers):
            put(#""state":{"#)
            if let c = covers { put(#""covers":{"epoch":\#(c.epoch),"seq":\#(c.seq)},"#) }
            putEntries()
            put("}")
        }
        put(#"},"version":\#(ReplicationMessage<GCounter>.currentVersion)}"#)
        return out
    }

    /// `s` as a JSON string literal, escaped as every other encoding here escapes it.
    static func quoted(_ s: String) -> [UInt8] {
        var w = JSONWriter()
        w.string(s)
        return w.bytes
    }
}
