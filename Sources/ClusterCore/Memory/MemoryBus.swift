import Foundation
import Synchronization

/// Key-value memory for agents: a namespace per process plus a shared namespace, JSON values, TTLs
/// that really expire, atomic increment and compare-and-set, over any `MemoryBackend`.
///
/// The bus owns every rule, so they hold on every backend: a read at or after an entry's
/// `expiresAt` returns nothing (the value is gone even before the sweeper removes it); `increment`
/// and `compareAndSet` run as one atomic `update` on the backend, treating an expired entry as
/// absent. Keys starting with `__` are the kernel's: only `setReserved` and `restore` write them.
///
/// Events (source `memory`, data `namespace` and `key`): `memory.set` (set, setReserved, increment,
/// a successful compareAndSet), `memory.deleted`, `memory.cleared` (data: namespace, count),
/// `memory.expired` (emitted by `sweepExpired`).
///
/// Whole namespaces can be handed to a `ReplicatedNamespaceStore` (`setReplicatedStore`): a
/// clustered node does so for its replicated namespaces. The same validation and events apply to
/// them; what changes is stated on the protocol. Without a store, every namespace is the backend's.
public final class MemoryBus: Sendable {
    /// The namespace every process may read and write.
    public static let sharedNamespace = "shared"
    /// Longest key or namespace accepted, in UTF-8 bytes.
    public static let maxKeyBytes = 1024

    private let backend: any MemoryBackend
    private let fastBackend: InMemoryBackend?
    private let events: EventBus
    private let clock: @Sendable () -> Date
    private let reads = Atomic<UInt64>(0)
    private let writes = Atomic<UInt64>(0)
    private let expired = Atomic<UInt64>(0)
    private let sweeper = Mutex<Task<Void, Never>?>(nil)
    private let replicated = Mutex<(any ReplicatedNamespaceStore)?>(nil)
    /// Whether `replicated` is set, read without the lock so that a bus without a store (every
    /// embedded node) pays one atomic load per call.
    private let hasReplicated = Atomic<Bool>(false)
    private let common = Mutex<Set<String>>([])

    /// `clock` decides what "now" is for TTLs; tests inject a manual one.
    public init(backend: any MemoryBackend, events: EventBus, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.backend = backend
        self.fastBackend = backend as? InMemoryBackend
        self.events = events
        self.clock = clock
    }

    deinit { sweeper.withLock { $0?.cancel() } }

    // MARK: - Common namespaces

    /// Names processes may open besides their own and `shared` (`ExecutionContext.namespace`): the
    /// node's `memory.replicated` list, replicated in a cluster and local on an embedded node, so an
    /// agent's code is the same on both.
    public func setCommonNamespaces(_ names: Set<String>) {
        common.withLock { $0 = names }
    }

    /// Whether every process may open `namespace`: `shared`, a common one, or a replicated one.
    public func isCommon(_ namespace: String) -> Bool {
        namespace == Self.sharedNamespace || common.withLock { $0.contains(namespace) } || isReplicated(namespace)
    }

    // MARK: - Replicated namespaces

    /// Hands the namespaces `store` holds to it (nil: none, every namespace is the backend's).
    /// Keys left in the backend under a namespace the store holds are hidden while it is set, not
    /// deleted.
    public func setReplicatedStore(_ store: (any ReplicatedNamespaceStore)?) {
        replicated.withLock { $0 = store }
        hasReplicated.store(store != nil, ordering: .releasing)
    }

    /// The store replicated namespaces are handed to, if any.
    public var replicatedStore: (any ReplicatedNamespaceStore)? {
        hasReplicated.load(ordering: .acquiring) ? replicated.withLock { $0 } : nil
    }

    /// Whether `namespace` is held by the replicated store rather than the backend.
    public func isReplicated(_ namespace: String) -> Bool { store(for: namespace) != nil }

    private func store(for namespace: String) -> (any ReplicatedNamespaceStore)? {
        guard let s = replicatedStore, s.holds(namespace) else { return nil }
        return s
    }

    // MARK: - Reads

    /// The live value, or nil when absent or expired.
    public func get(_ namespace: String, _ key: String) throws -> JSONValue? {
        try entry(namespace, key)?.value
    }

    /// The live entry (value, expiry, last write), or nil when absent or expired.
    public func entry(_ namespace: String, _ key: String) throws -> MemoryEntry? {
        try Self.validate(namespace, key)
        reads.wrappingAdd(1, ordering: .relaxed)
        if let s = store(for: namespace) { return try s.entry(namespace, key) }
        guard let e = try backend.entry(namespace, key) else { return nil }
        return e.isExpired(at: clock()) ? nil : e
    }

    /// Live records whose key starts with `prefix`, sorted by key (UTF-8 byte order).
    public func list(_ namespace: String, prefix: String = "") throws -> [MemoryRecord] {
        try Self.validateNamespace(namespace)
        reads.wrappingAdd(1, ordering: .relaxed)
        if let s = store(for: namespace) { return try s.records(namespace, prefix: prefix) }
        let now = clock()
        return try backend.records(namespace, prefix: prefix).filter { !$0.entry.isExpired(at: now) }
    }

    /// Namespaces holding at least one key, sorted (replicated ones included).
    public func namespaces() throws -> [String] {
        guard let s = replicatedStore else { return try backend.namespaces() }
        let local = try backend.namespaces().filter { !s.holds($0) }
        return Set(local).union(try s.namespaces()).sorted()
    }

    // MARK: - Writes

    /// Stores `value`; with `ttl`, the value expires that long from now.
    public func set(_ namespace: String, _ key: String, _ value: JSONValue, ttl: Duration? = nil) async throws {
        try Self.validateWritable(namespace, key)
        try await put(namespace, key, value, ttl: ttl)
    }

    /// Like `set`, but also for reserved `__` keys: for the kernel's own bookkeeping.
    public func setReserved(_ namespace: String, _ key: String, _ value: JSONValue, ttl: Duration? = nil) async throws {
        try Self.validate(namespace, key)
        try await put(namespace, key, value, ttl: ttl)
    }

    private func put(_ namespace: String, _ key: String, _ value: JSONValue, ttl: Duration?) async throws {
        let now = clock()
        let entry = MemoryEntry(value: value, expiresAt: try Self.expiry(ttl, now: now), updatedAt: now)
        if let s = store(for: namespace) {
            try await s.set(namespace, key, value, ttl: ttl)
        } else if let fastBackend {
            fastBackend.storeNow(namespace, key, entry)
        } else {
            try await backend.store(namespace, key, entry)
        }
        didWrite("memory.set", namespace, key)
    }

    /// Removes the key; true when a live value was removed.
    @discardableResult
    public func delete(_ namespace: String, _ key: String) async throws -> Bool {
        try Self.validateWritable(namespace, key)
        if let s = store(for: namespace) {
            guard try await s.delete(namespace, key) else { return false }
            didWrite("memory.deleted", namespace, key)
            return true
        }
        let now = clock()
        guard let old = try await backend.remove(namespace, key), !old.isExpired(at: now) else { return false }
        didWrite("memory.deleted", namespace, key)
        return true
    }

    /// Removes every key of the namespace, reserved ones included.
    public func clear(_ namespace: String) async throws {
        try Self.validateNamespace(namespace)
        let count: Int
        if let s = store(for: namespace) {
            count = try await s.clear(namespace)
        } else {
            count = try await backend.removeAll(namespace)
        }
        writes.wrappingAdd(1, ordering: .relaxed)
        events.emit("memory.cleared", source: "memory", data: ["namespace": .string(namespace), "count": .number(Double(count))])
    }

    /// Adds `by` to the number under the key (absent or expired counts as 0) and returns the sum,
    /// atomically. The key keeps its TTL. Throws `notANumber` when it holds something else.
    /// On a replicated namespace the key is a PN-counter: increments on every node add up exactly.
    @discardableResult
    public func increment(_ namespace: String, _ key: String, by delta: Double = 1) async throws -> Double {
        try Self.validateWritable(namespace, key)
        if let s = store(for: namespace) {
            let sum = try await s.increment(namespace, key, by: delta)
            didWrite("memory.set", namespace, key)
            return sum
        }
        let clock = self.clock
        let sum = try await backend.update(namespace, key) { current -> (MemoryChange, Double) in
            let now = clock()
            let live = current.flatMap { $0.isExpired(at: now) ? nil : $0 }
            var base = 0.0
            if let live {
                guard case .number(let d) = live.value else { throw MemoryError.notANumber(key: key) }
                base = d
            }
            let sum = base + delta
            // An infinite sum would be stored as JSON null (or fail to encode); refuse it.
            guard sum.isFinite else { throw MemoryError.notFinite(key: key) }
            return (.store(MemoryEntry(value: .number(sum), expiresAt: live?.expiresAt, updatedAt: now)), sum)
        }
        didWrite("memory.set", namespace, key)
        return sum
    }

    /// Stores `new` only if the live value equals `expected` (nil: only if there is no live value),
    /// atomically. Returns whether it stored.
    ///
    /// On a replicated namespace the comparison is against this node's replica only: atomic with
    /// respect to writes on this node, but not linearizable across nodes — two nodes can both
    /// succeed, and the later write (hybrid-logical-clock order) wins on every replica.
    public func compareAndSet(_ namespace: String, _ key: String, expected: JSONValue?, new: JSONValue, ttl: Duration? = nil) async throws -> Bool {
        try Self.validateWritable(namespace, key)
        let clock = self.clock
        _ = try Self.expiry(ttl, now: Date())  // reject a bad TTL before touching storage
        if let s = store(for: namespace) {
            let swapped = try await s.compareAndSet(namespace, key, expected: expected, new: new, ttl: ttl)
            if swapped { didWrite("memory.set", namespace, key) }
            return swapped
        }
        let swapped = try await backend.update(namespace, key) { current -> (MemoryChange, Bool) in
            let now = clock()
            let live = current.flatMap { $0.isExpired(at: now) ? nil : $0 }
            guard live?.value == expected else { return (.keep, false) }
            let entry = MemoryEntry(value: new, expiresAt: try Self.expiry(ttl, now: now), updatedAt: now)
            return (.store(entry), true)
        }
        if swapped { didWrite("memory.set", namespace, key) }
        return swapped
    }

    /// Replaces the namespace with `records` (checkpoint restore). Reserved keys are allowed;
    /// records already expired are dropped. A replicated namespace is cleared and written key by
    /// key (not atomically; each record keeps the time left before its expiry).
    public func restore(_ namespace: String, records: [MemoryRecord]) async throws {
        try Self.validateNamespace(namespace)
        for r in records { try Self.validateKey(r.key) }
        let now = clock()
        let live = records.filter { !$0.entry.isExpired(at: now) }
        if let s = store(for: namespace) {
            _ = try await s.clear(namespace)
            for r in live {
                let ttl = r.entry.expiresAt.map { Duration.milliseconds(max(1, Int64(($0.timeIntervalSince(now) * 1000).rounded(.up)))) }
                try await s.set(namespace, r.key, r.entry.value, ttl: ttl)
            }
        } else {
            try await backend.replace(namespace, with: live)
        }
        writes.wrappingAdd(1, ordering: .relaxed)
    }

    // MARK: - Expiry

    /// Removes every expired key of the backend now, emitting `memory.expired` for each (but for
    /// keys hidden under a replicated namespace); returns how many. Replicated namespaces expire
    /// on their own (`ReplicatedNamespaceStore`).
    @discardableResult
    public func sweepExpired() async throws -> Int {
        let removed = try await backend.removeExpired(now: clock())
        expired.wrappingAdd(UInt64(removed.count), ordering: .relaxed)
        let s = replicatedStore
        for k in removed where !(s?.holds(k.namespace) ?? false) {
            events.emit("memory.expired", source: "memory", data: ["namespace": .string(k.namespace), "key": .string(k.key)])
        }
        return removed.count
    }

    /// Starts a task sweeping every `interval`. Idempotent: a running sweeper is kept.
    public func startSweeper(interval: Duration) {
        sweeper.withLock { task in
            guard task == nil else { return }
            task = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard !Task.isCancelled, let self else { return }
                    // A failing sweep (backend closed, disk error) is retried next round.
                    _ = try? await self.sweepExpired()
                }
            }
        }
    }

    /// Stops the sweeper task, if any. Idempotent.
    public func stopSweeper() {
        sweeper.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    // MARK: - Stats

    /// Namespaces, keys, reads, writes, expired. Key counts come from the backend and the
    /// replicated store (its live keys); if one cannot answer (closed), it counts 0.
    public func stats() -> MemoryStats {
        var c = (try? backend.counts()) ?? (namespaces: 0, keys: 0)
        if let s = replicatedStore {
            // Backend keys hidden under a replicated namespace are not counted.
            let local = (try? backend.namespaces()) ?? []
            let hidden = local.filter { s.holds($0) }
            let hiddenKeys = hidden.reduce(0) { $0 + ((try? backend.records($1, prefix: "").count) ?? 0) }
            let held = (try? s.namespaces()) ?? []
            let r = (try? s.counts()) ?? (namespaces: 0, keys: 0)
            c.namespaces = Set(local.filter { !s.holds($0) }).union(held).count
            c.keys = c.keys - hiddenKeys + r.keys
        }
        return MemoryStats(
            namespaces: c.namespaces, keys: c.keys,
            reads: reads.load(ordering: .relaxed), writes: writes.load(ordering: .relaxed),
            expired: expired.load(ordering: .relaxed))
    }

    // MARK: - Helpers

    func didWrite(_ type: String, _ namespace: String, _ key: String) {
        writes.wrappingAdd(1, ordering: .relaxed)
        events.emit(type, source: "memory", data: ["namespace": .string(namespace), "key": .string(key)])
    }

    static func expiry(_ ttl: Duration?, now: Date) throws(MemoryError) -> Date? {
        guard let ttl else { return nil }
        let c = ttl.components
        let seconds = Double(c.seconds) + Double(c.attoseconds) * 1e-18
        guard seconds > 0, seconds.isFinite else { throw MemoryError.invalidTTL("\(ttl) (must be positive)") }
        return now.addingTimeInterval(seconds)
    }

    static func validate(_ namespace: String, _ key: String) throws(MemoryError) {
        try validateNamespace(namespace)
        try validateKey(key)
    }

    static func validateWritable(_ namespace: String, _ key: String) throws(MemoryError) {
        try validate(namespace, key)
        if key.utf8.starts(with: "__".utf8) { throw MemoryError.reservedKey(key) }
    }

    static func validateNamespace(_ namespace: String) throws(MemoryError) {
        if namespace.isEmpty { throw MemoryError.invalidKey("namespace is empty") }
        if namespace.utf8.count > maxKeyBytes { throw MemoryError.invalidKey("namespace is longer than \(maxKeyBytes) bytes") }
    }

    static func validateKey(_ key: String) throws(MemoryError) {
        if key.isEmpty { throw MemoryError.invalidKey("key is empty") }
        if key.utf8.count > maxKeyBytes { throw MemoryError.invalidKey("key '\(key.prefix(40))...' is longer than \(maxKeyBytes) bytes") }
    }
}
