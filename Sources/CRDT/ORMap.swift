/// An observed-remove map from string keys to nested replicated values, add-wins on keys.
///
/// Every update of a key stores, under a fresh dot, the key's whole new value and drops the dots
/// it observed; the value read is the join of the values under the key's live dots. So an update
/// concurrent with a remove keeps the key, holding the updater's value (which includes what the
/// updater had seen); a remove followed by an update starts from an empty value.
public struct ORMap<Value: DeltaReplicatedData>: DeltaReplicatedData {
    @usableFromInline var store = DotStore<String, Value>()
    private var pending: DotStore<String, Value>?

    /// An empty map.
    public init() {}

    /// The keys present.
    public var keys: [String] { store.entries.keys.sorted() }

    /// The number of keys.
    public var count: Int { store.entries.count }

    /// The value under `key`: the join of its concurrent versions.
    public subscript(key: String) -> Value? {
        guard let tagged = store.entries[key], var v = tagged.first?.value else { return nil }
        for t in tagged.dropFirst() { v.merge(t.value) }
        return v
    }

    /// Updates the value under `key` (starting from `initial` when absent) on behalf of `replica`.
    public mutating func update(_ key: String, by replica: ReplicaID, initial: Value,
                                _ body: (inout Value) -> Void) {
        var v = self[key] ?? initial
        body(&v)
        v.resetDelta()
        withPending { store, d in
            store.write(key, v, by: replica, delta: &d)
        }
    }

    /// Removes `key` (the versions this replica has observed).
    public mutating func remove(_ key: String) {
        guard store.entries[key] != nil else { return }
        withPending { store, d in
            store.remove(key, delta: &d)
        }
    }

    /// Runs `body` on the pending delta, taken out first so it is uniquely referenced and
    /// mutated in place rather than copied.
    private mutating func withPending(_ body: (inout DotStore<String, Value>, inout DotStore<String, Value>) -> Void) {
        var d = pending ?? DotStore<String, Value>(delta: true)
        pending = nil
        body(&store, &d)
        pending = d
    }

    @inlinable
    public mutating func merge(_ other: ORMap) { store.merge(other.store) }

    public var delta: ORMap? {
        guard let pending else { return nil }
        var d = ORMap()
        d.store = pending
        return d
    }

    public mutating func resetDelta() { pending = nil }

    public func needsPruning(from removed: ReplicaID) -> Bool {
        store.needsPruning(from: removed) { $0.needsPruning(from: removed) }
    }

    public mutating func prune(removed: ReplicaID, into survivor: ReplicaID) {
        withPending { store, d in store.prune(removed: removed, into: survivor,
                    valueNeeds: { $0.needsPruning(from: removed) },
                    pruneValue: { value in
                        var v = value
                        v.prune(removed: removed, into: survivor)
                        v.resetDelta()
                        return v
                    }, delta: &d) }
    }

    public mutating func pruningCleanup(removed: ReplicaID) {
        store.pruningCleanup(removed: removed) { $0.needsPruning(from: removed) }
        pending?.pruningCleanup(removed: removed) { $0.needsPruning(from: removed) }
    }

    public static func == (a: ORMap, b: ORMap) -> Bool { a.store == b.store }
    public func hash(into h: inout Hasher) { h.combine(store) }

    public init(from decoder: Decoder) throws { store = try DotStore(from: decoder) }
    public func encode(to encoder: Encoder) throws { try store.encode(to: encoder) }
}
