import ClusterCore
import CRDT
import Foundation
import JSONCodec
import Transport

/// The shared namespace (and every namespace declared `replicated`) as CRDT replicas: each key is
/// one replicated value — a plain JSON value with per-key TTL and deletes that stay deleted
/// (last-writer-wins by hybrid logical clock), a PN-counter, or an add-wins OR-set — spread to the
/// cluster's members by the `Replicator` core over a `Transport`.
///
/// Reads are local and synchronous (they never wait for the actor or the network), so the node's
/// `MemoryBus` can serve replicated namespaces to the kernel through `namespaceStore`. A write
/// returns once it is committed to the node's SQLite database, and is visible to reads on this
/// node at once (read-your-writes); other nodes see it within a few ticks (eventual consistency).
/// A restart loads the persisted replica before catching up. docs/replication.md states how each
/// conflict resolves.
public actor ReplicatedMemory {
    /// The namespace every process and node shares.
    public static let sharedNamespace = MemoryBus.sharedNamespace

    /// This node's id (its replica id).
    public nonisolated let nodeID: String
    /// The options in force.
    public nonisolated let options: ReplicationOptions

    typealias Value = ReplicatedValue<JSONValue>
    /// The replicator and counters, behind a lock so that reads need not enter the actor.
    nonisolated let state: ReplicaState
    /// The replication core. Every access takes `state`'s lock for its duration only: the actor
    /// still orders the writers, the lock only lets nonisolated readers see a consistent state.
    var replicator: Replicator<Value> {
        _read {
            state.lock.lock()
            defer { state.lock.unlock() }
            yield state.replicator
        }
        _modify {
            state.lock.lock()
            defer { state.lock.unlock() }
            yield &state.replicator
        }
    }
    /// The shell's counters (under the same lock, so `/metrics` reads them synchronously).
    var counters: ReplicationStats {
        _read {
            state.lock.lock()
            defer { state.lock.unlock() }
            yield state.counters
        }
        _modify {
            state.lock.lock()
            defer { state.lock.unlock() }
            yield &state.counters
        }
    }
    let store: ReplicationStore
    let clock: @Sendable () -> Int64
    let log: @Sendable (String) -> Void
    var dirty: Set<String> = []
    var lastGC: Int64?
    var shell: Shell?
    var pruning: Pruning?
    /// Members seen down, and since when (persisted: gossip forgets them, and a restart with it).
    var departed: RemovedMemberTracker

    /// A replica for `nodeID` persisted in `database` (table `replicated_memory`). Loads the
    /// persisted state; nothing is sent until `start`.
    ///
    /// - Parameters:
    ///   - clock: wall time in ms since 1970 (TTL expiry and timestamps); tests inject their own.
    ///   - log: receives one line per rejected message or persistence failure.
    /// - Throws: `ReplicatedMemoryError.invalidNamespace` for a namespace holding `/`, starting
    ///   with `__` or empty; a database error if the replica cannot be read.
    public init(nodeID: String, options: ReplicationOptions, database: SQLiteDatabase,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) },
                log: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        // `<namespace>/<key>` must identify one pair, and `__` keys outside namespaces are internal.
        for ns in options.namespaces where ns.isEmpty || ns.contains("/") || ns.hasPrefix("__") {
            throw ReplicatedMemoryError.invalidNamespace(ns)
        }
        let store = try await ReplicationStore(database: database)
        let (initial, damaged, sizes) = try store.load()
        for (key, why) in damaged.sorted(by: { $0.key < $1.key }) {
            log("replicated memory: persisted key '\(key)' does not decode (\(why)); it will be fetched from peers")
        }
        let now = clock()
        // A new incarnation on every start, so peers count its batches from 1 again.
        let epoch = UInt64(max(0, now)) &* 1024 &+ UInt64.random(in: 0..<1024)
        self.nodeID = nodeID
        self.options = options
        self.store = store
        self.clock = clock
        self.log = log
        var replicator = Replicator<Value>(me: ReplicaID(nodeID), epoch: epoch, settings: options.replicator, initial: initial)
        // Replicas pruned before the restart stay pruned: incoming data is cleaned of them again.
        if case .set(let pruned)? = initial[Self.prunedKey] {
            for case .string(let id) in pruned.elements { replicator.pruneRemoved(ReplicaID(id)) }
        }
        self.departed = RemovedMemberTracker(downSince: try await Self.loadDeparted(store.database))
        self.state = ReplicaState(replicator: replicator, sizes: sizes)
    }

    /// Whether `namespace` is replicated (the shared one and those declared `replicated`).
    public nonisolated func isReplicated(_ namespace: String) -> Bool { options.namespaces.contains(namespace) }

    /// This replica as the store behind a `MemoryBus`'s replicated namespaces: install it with
    /// `MemoryBus.setReplicatedStore` so that processes in the kernel share them across nodes.
    public nonisolated var namespaceStore: any ReplicatedNamespaceStore { ReplicatedNamespaces(memory: self) }

    // MARK: Reads

    /// The live entry under `key`: a plain value, a counter's value (a number) or a set's members
    /// (an array); nil when absent, deleted or expired.
    public nonisolated func entry(_ namespace: String, _ key: String) throws -> MemoryEntry? {
        try validate(namespace, key)
        let rkey = Self.replicatedKey(namespace, key)
        let now = clock()
        return state.withLock { Self.read($0.replicator[rkey], now: now) }
    }

    /// The live value under `key` (see `entry`).
    public nonisolated func get(_ namespace: String, _ key: String) throws -> JSONValue? {
        try entry(namespace, key)?.value
    }

    /// Live entries whose key starts with `prefix`, sorted by key in UTF-8 byte order.
    public nonisolated func list(_ namespace: String, prefix: String = "") throws -> [MemoryRecord] {
        try liveEntries(namespace, prefix: prefix)
            .map { MemoryRecord(key: String(Substring($0.key)), entry: $0.entry) }
            .sorted { JSONWriter.precedes($0.key, $1.key) }
    }

    /// The live entries of `namespace` whose key starts with `prefix`, in no order. Byte-wise
    /// prefix tests: this runs over every key (a poll of a large namespace) under the replica's
    /// lock, and `String`'s Unicode-aware comparisons cost several times more.
    private nonisolated func liveEntries(_ namespace: String, prefix: String) throws -> [(key: Substring.UTF8View, entry: MemoryEntry)] {
        try validateNamespace(namespace)
        let now = clock()
        let head = Array((namespace + "/").utf8)
        return state.withLock { s in
            var out: [(key: Substring.UTF8View, entry: MemoryEntry)] = []
            for (rkey, v) in s.replicator.values where rkey.utf8.starts(with: head) {
                let key = rkey.utf8.dropFirst(head.count)
                guard prefix.isEmpty || Substring(key).hasPrefix(prefix), let e = Self.read(v, now: now) else { continue }
                out.append((key, e))
            }
            return out
        }
    }

    /// The count and a hash of the live entries whose key starts with `prefix`: equal summaries
    /// mean equal live contents (short of a hash collision). The hash adds up one FNV-1a hash per
    /// entry (key and value JSON), so it needs no sorting: a convergence check polls it while a
    /// heal runs, and it holds the replica's lock only to copy the values out.
    public nonisolated func summary(_ namespace: String, prefix: String = "") throws -> (count: Int, hash: UInt64) {
        let live = try liveEntries(namespace, prefix: prefix)
        var total: UInt64 = 0
        var bytes: [UInt8] = []
        for (key, entry) in live {
            // One buffer per entry, hashed in one call: key, a zero byte, the value's JSON.
            bytes.removeAll(keepingCapacity: true)
            bytes.append(contentsOf: key)
            bytes.append(0)
            if !entry.value.write(into: &bytes) {
                bytes.removeSubrange((key.count + 1)...)
                bytes.append(contentsOf: "null".utf8)
            }
            var h = StableHash()
            h.combine(bytes: bytes)
            total &+= h.value
        }
        return (live.count, total)
    }

    /// The members of the set under `key`, sorted by their JSON encoding; nil when there is no
    /// set there.
    public nonisolated func members(_ namespace: String, _ key: String) throws -> [JSONValue]? {
        try validate(namespace, key)
        let rkey = Self.replicatedKey(namespace, key)
        guard case .set(let s)? = state.withLock({ $0.replicator[rkey] }) else { return nil }
        return Self.sorted(s.elements)
    }

    /// Live keys per replicated namespace (namespaces without a live key are left out).
    public nonisolated func liveKeyCounts() -> [String: Int] {
        let now = clock()
        let replicated = Set(options.namespaces.map { Substring($0) })
        return state.withLock { s in
            var counts: [Substring: Int] = [:]
            for (rkey, v) in s.replicator.values {
                guard let slash = rkey.utf8.firstIndex(of: UInt8(ascii: "/")) else { continue }
                let ns = rkey[..<slash]
                guard replicated.contains(ns), Self.isLive(v, now: now) else { continue }
                counts[ns, default: 0] += 1
            }
            return Dictionary(uniqueKeysWithValues: counts.map { (String($0.key), $0.value) })
        }
    }

    // MARK: Writes

    /// Sets `key` to `value`, expiring `ttl` from now (the same instant on every replica).
    /// Overwrites a counter or set under the key. Returns the entry written.
    @discardableResult
    public func set(_ namespace: String, _ key: String, _ value: JSONValue, ttl: Duration? = nil) async throws -> MemoryEntry {
        try validateWritable(namespace, key)
        return try await write(namespace, key, value, ttl: ttl)
    }

    /// `set` without the reserved-key check: the MemoryBus has already applied its own rules
    /// (its `setReserved` and `restore` may write `__` keys).
    @discardableResult
    func write(_ namespace: String, _ key: String, _ value: JSONValue, ttl: Duration?) async throws -> MemoryEntry {
        try validate(namespace, key)
        let now = clock()
        var expiresAt: Int64?
        if let ttl {
            let ms = Self.milliseconds(ttl)
            guard ms > 0 else { throw MemoryError.invalidTTL("ttl must be positive, got \(ttl)") }
            expiresAt = now &+ ms
        }
        let me = replicator.me
        let rkey = Self.replicatedKey(namespace, key)
        replicator.update(rkey, empty: .map(LWWMap())) { v in
            if !v.modifyMap({ $0.set("", value, expiresAt: expiresAt, wall: now, by: me) }) {
                // A counter or set becomes a plain value; the map kind wins every merge with them.
                var m = LWWMap<JSONValue>()
                m.set("", value, expiresAt: expiresAt, wall: now, by: me)
                v = .map(m)
            }
        }
        try await persist([rkey])
        return Self.read(replicator[rkey], now: now) ?? MemoryEntry(value: value, expiresAt: expiresAt.map(Self.date), updatedAt: Self.date(now))
    }

    /// Deletes `key` (a value, counter or set): a delete marker that beats every older write, on
    /// every replica. Returns whether a live value was there.
    @discardableResult
    public func delete(_ namespace: String, _ key: String) async throws -> Bool {
        try validateWritable(namespace, key)
        let now = clock()
        let rkey = Self.replicatedKey(namespace, key)
        guard Self.read(replicator[rkey], now: now) != nil else { return false }
        markDeleted(rkey, now: now)
        try await persist([rkey])
        return true
    }

    /// Deletes every live key of `namespace` (delete markers, as `delete`); returns how many.
    @discardableResult
    public func clear(_ namespace: String) async throws -> Int {
        try validateNamespace(namespace)
        let now = clock()
        let head = namespace + "/"
        let live = replicator.values.compactMap { rkey, v in rkey.hasPrefix(head) && Self.isLive(v, now: now) ? rkey : nil }
        for rkey in live { markDeleted(rkey, now: now) }
        try await persist(Set(live))
        return live.count
    }

    /// Stores `new` only if the live value on this replica equals `expected` (nil: only if there
    /// is none). Atomic with respect to every other write on this node (the actor runs it without
    /// suspending between the comparison and the write), but the comparison sees only this
    /// replica: it is not linearizable across nodes. Two nodes may both succeed; the later write
    /// (by hybrid logical clock) then wins on every replica, as for `set`.
    public func compareAndSet(_ namespace: String, _ key: String, expected: JSONValue?, new: JSONValue,
                              ttl: Duration? = nil) async throws -> Bool {
        try validateWritable(namespace, key)
        guard Self.read(replicator[Self.replicatedKey(namespace, key)], now: clock())?.value == expected else { return false }
        try await write(namespace, key, new, ttl: ttl)
        return true
    }

    private func markDeleted(_ rkey: String, now: Int64) {
        let me = replicator.me
        replicator.update(rkey, empty: .map(LWWMap())) { v in
            if !v.modifyMap({ $0.delete("", wall: now, by: me) }) {
                var m = LWWMap<JSONValue>()
                m.delete("", wall: now, by: me)
                v = .map(m)
            }
        }
    }

    /// Adds `by` (a whole number, negative to subtract) to the PN-counter under `key`, creating it
    /// at 0. Concurrent increments on different nodes all count. Returns the new local value.
    @discardableResult
    public func increment(_ namespace: String, _ key: String, by: Double = 1) async throws -> Int64 {
        try validateWritable(namespace, key)
        guard by.isFinite, by.rounded() == by, abs(by) < 9.2e18 else { throw ReplicatedMemoryError.notAnInteger(key: key, by: by) }
        let rkey = Self.replicatedKey(namespace, key)
        try requireKind(rkey, key: key, "counter")
        let me = replicator.me
        let amount = Int64(by)
        let v = replicator.update(rkey, empty: .counter(PNCounter())) { v in
            v.modifyCounter { $0.increment(by: amount, at: me) }
        }
        try await persist([rkey])
        guard case .counter(let c) = v else { return 0 }
        return c.value
    }

    /// Adds `elements` to the OR-set under `key`, creating it. Returns the members after.
    @discardableResult
    public func add(_ namespace: String, _ key: String, _ elements: [JSONValue]) async throws -> [JSONValue] {
        try modifySet(namespace, key) { s, me in for e in elements { s.add(e, by: me) } }
        return try await finishSet(namespace, key)
    }

    /// Removes `elements` from the OR-set under `key` (the adds this node has seen; a concurrent
    /// add elsewhere survives). Returns the members after.
    @discardableResult
    public func remove(_ namespace: String, _ key: String, _ elements: [JSONValue]) async throws -> [JSONValue] {
        try modifySet(namespace, key) { s, _ in for e in elements { s.remove(e) } }
        return try await finishSet(namespace, key)
    }

    private func modifySet(_ namespace: String, _ key: String, _ body: (inout ORSet<JSONValue>, ReplicaID) -> Void) throws {
        try validateWritable(namespace, key)
        let rkey = Self.replicatedKey(namespace, key)
        try requireKind(rkey, key: key, "set")
        let me = replicator.me
        replicator.update(rkey, empty: .set(ORSet())) { v in
            v.modifySet { body(&$0, me) }
        }
    }

    private func finishSet(_ namespace: String, _ key: String) async throws -> [JSONValue] {
        let rkey = Self.replicatedKey(namespace, key)
        try await persist([rkey])
        return try members(namespace, key) ?? []
    }

    // MARK: Helpers

    /// Counters and sets cannot take over a key that holds another kind: a plain value (even
    /// deleted) always wins a merge against them, so the write would be lost.
    private func requireKind(_ rkey: String, key: String, _ wanted: String) throws {
        guard let v = replicator[rkey] else { return }
        let holds = Self.kind(v)
        guard holds == wanted else { throw ReplicatedMemoryError.wrongKind(key: key, holds: holds, wanted: wanted) }
    }

    static func kind(_ v: Value) -> String {
        switch v {
        case .map: return "value"
        case .counter: return "counter"
        case .set: return "set"
        case .register, .mvRegister: return "register"
        }
    }

    /// Whether `v` holds something a read returns (cheaper than `read`).
    static func isLive(_ v: Value, now: Int64) -> Bool {
        guard case .map(let m) = v else { return true }
        guard let e = m.entries[""] else { return false }
        return e.isLive(at: now) && e.value != nil
    }

    static func read(_ value: Value?, now: Int64) -> MemoryEntry? {
        guard let v = value else { return nil }
        switch v {
        case .map(let m):
            guard let e = m.entries[""], e.isLive(at: now), let value = e.value else { return nil }
            return MemoryEntry(value: value, expiresAt: e.expiresAt.map(Self.date), updatedAt: Self.date(e.timestamp.wall))
        case .counter(let c):
            return MemoryEntry(value: .number(Double(c.value)), expiresAt: nil, updatedAt: Self.date(now))
        case .set(let s):
            return MemoryEntry(value: .array(Self.sorted(s.elements)), expiresAt: nil, updatedAt: Self.date(now))
        case .register(let r):
            return MemoryEntry(value: r.value, expiresAt: nil, updatedAt: Self.date(r.timestamp.wall))
        case .mvRegister(let r):
            return MemoryEntry(value: .array(r.values), expiresAt: nil, updatedAt: Self.date(now))
        }
    }

    /// Writes the current state of `keys` to SQLite from the encodings the replicator keeps (a
    /// value is not encoded again for this); returns once committed.
    func persist(_ keys: Set<String>) async throws {
        var rows: [(String, Data?)] = []
        rows.reserveCapacity(keys.count)
        for key in keys.sorted() {
            guard let bytes = replicator.encoding(of: key) else { continue }
            // The index keeps no bytes for a value that does not encode: let the encoder say why.
            if bytes.isEmpty, let v = replicator[key] { _ = try CRDTCoding.encode(v) }
            rows.append((key, bytes))
        }
        do { try await store.save(rows) } catch {
            throw MemoryError.backend("replicated memory: \(error)")
        }
        state.withLock { s in
            for (key, data) in rows { s.setSize(key, data?.count) }
        }
    }

    nonisolated func validate(_ namespace: String, _ key: String) throws {
        try validateNamespace(namespace)
        guard !key.isEmpty, key.utf8.count <= MemoryBus.maxKeyBytes else {
            throw MemoryError.invalidKey("key must be 1–\(MemoryBus.maxKeyBytes) UTF-8 bytes")
        }
    }

    nonisolated func validateWritable(_ namespace: String, _ key: String) throws {
        try validate(namespace, key)
        if key.hasPrefix("__") { throw MemoryError.reservedKey(key) }
    }

    nonisolated func validateNamespace(_ namespace: String) throws {
        guard isReplicated(namespace) else { throw ReplicatedMemoryError.notReplicated(namespace) }
    }

    static func replicatedKey(_ namespace: String, _ key: String) -> String { namespace + "/" + key }

    static func sorted(_ elements: Set<JSONValue>) -> [JSONValue] {
        elements.map { (String(decoding: (try? CRDTCoding.encode($0)) ?? Data(), as: UTF8.self), $0) }
            .sorted { $0.0 < $1.0 }.map(\.1)
    }

    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    static func milliseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s &* 1000 &+ atto / 1_000_000_000_000_000
    }
}

/// The replicator, the counters and the persisted size of each key, readable outside the actor.
///
/// `@unchecked Sendable`: every stored property is read and written only while `lock` is held
/// (the actor's `replicator`/`counters` accessors and `withLock`). A lock object rather than a
/// `Mutex` because the actor's accessors must hold it across a `yield`; a recursive one so that a
/// read nested in another read (a closure over `replicator.values` that reads `replicator`) works,
/// and a write nested in an access traps as an exclusivity violation instead of deadlocking.
final class ReplicaState: @unchecked Sendable {
    let lock = NSRecursiveLock()
    var replicator: Replicator<ReplicatedValue<JSONValue>>
    var counters = ReplicationStats()
    /// Bytes of each key's persisted encoding, and their sum.
    private(set) var sizes: [String: Int]
    private(set) var bytes: Int

    init(replicator: Replicator<ReplicatedValue<JSONValue>>, sizes: [String: Int]) {
        self.replicator = replicator
        self.sizes = sizes
        self.bytes = sizes.values.reduce(0, +)
    }

    func setSize(_ key: String, _ size: Int?) {
        bytes -= sizes[key] ?? 0
        sizes[key] = size
        bytes += size ?? 0
    }

    func withLock<R>(_ body: (ReplicaState) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(self)
    }
}

/// What the replication shell has done, for `/metrics` and tests.
public struct ReplicationStats: Sendable, Hashable {
    /// Messages published to peers.
    public var sent: UInt64 = 0
    /// Messages received from peers.
    public var received: UInt64 = 0
    /// Messages dropped undecoded, by reason (`oversized`, `unsupported_version`, `malformed`).
    public var rejected: [String: UInt64] = [:]
    /// Publishes the transport refused.
    public var sendFailures: UInt64 = 0
    /// Persistence failures of received state (retried on the next tick).
    public var persistFailures: UInt64 = 0
    /// Replicated keys held (delete markers included).
    public var keys: Int = 0
    /// Peers replicated to.
    public var peers: Int = 0
    /// Bytes of the replica as persisted (the keys' CRDT encodings).
    public var bytes: Int = 0
    /// Replica ids pruned (members gone for good).
    public var prunedReplicas: Int = 0
    /// Messages published, by kind (`deltas`, `ack`, `state`, `digest`, `key_digest`, `request`).
    public var sentByKind: [String: UInt64] = [:]
    /// Bytes published to peers.
    public var sentBytes: UInt64 = 0
    /// Bytes received from peers.
    public var receivedBytes: UInt64 = 0

    /// Counts one published message.
    mutating func noteSent<V: DeltaReplicatedData>(_ message: ReplicationMessage<V>, bytes: Int) {
        sentBytes &+= UInt64(bytes)
        sentByKind[Self.kind(message.body), default: 0] &+= 1
    }

    static func kind<V: DeltaReplicatedData>(_ body: ReplicationMessage<V>.Body) -> String {
        switch body {
        case .deltas: return "deltas"
        case .ack: return "ack"
        case .state: return "state"
        case .digest: return "digest"
        case .keyDigest: return "key_digest"
        case .request: return "request"
        }
    }
}

extension ReplicatedMemory {
    /// The counters now, read without entering the actor (for `/metrics`).
    public nonisolated func currentStats() -> ReplicationStats {
        state.withLock { s in
            var c = s.counters
            c.keys = s.replicator.values.count
            c.peers = s.replicator.peers.count
            c.bytes = s.bytes
            c.prunedReplicas = s.replicator.prunedReplicas.count
            return c
        }
    }
}
