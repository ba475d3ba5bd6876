import JSONCodec

/// The state of an observed-remove type (ORSet, MVRegister, ORMap) together with the delta of its
/// local mutations: the one place that does their dot bookkeeping, so each type only says what a
/// key and a value are. Equality, hashing and the encoding cover the state, never the delta.
@usableFromInline
struct DeltaDotStore<Key: Hashable & Codable & Sendable, Value: Hashable & Codable & Sendable>: Sendable, Hashable, Codable {
    @usableFromInline var state = DotStore<Key, Value>()
    /// The join of the local mutations since the last `resetDelta()`.
    private var pending: DotStore<Key, Value>?

    @usableFromInline
    init() {}

    @usableFromInline
    init(state: DotStore<Key, Value>) { self.state = state }

    /// The live values per key.
    var entries: [Key: DotStore<Key, Value>.Slot] { state.entries }

    /// Writes `value` under `key` for `replica`, replacing the values observed there.
    mutating func write(_ key: Key, _ value: Value, by replica: ReplicaID) {
        withPending { state, d in state.write(key, value, by: replica, delta: &d) }
    }

    /// Removes the observed values of `key`; a key with none leaves no (empty) delta behind.
    mutating func remove(_ key: Key) {
        guard state.entries[key] != nil else { return }
        withPending { state, d in state.remove(key, delta: &d) }
    }

    /// Runs `body` on the state and the pending delta, the delta taken out first so it is uniquely
    /// referenced and mutated in place rather than copied.
    private mutating func withPending(_ body: (inout DotStore<Key, Value>, inout DotStore<Key, Value>) -> Void) {
        var d = pending ?? DotStore<Key, Value>(delta: true)
        pending = nil
        body(&state, &d)
        pending = d
    }

    @inlinable
    mutating func merge(_ other: DeltaDotStore) { state.merge(other.state) }

    /// The pending delta as a state of its own, nil when there is none.
    var delta: DeltaDotStore? { pending.map(DeltaDotStore.init(state:)) }

    mutating func resetDelta() { pending = nil }

    /// See `ReplicatedData`; `valueNeeds` and `pruneValue` reach into nested replicated values.
    func needsPruning(from removed: ReplicaID, valueNeeds: (Value) -> Bool = { _ in false }) -> Bool {
        state.needsPruning(from: removed, valueNeeds: valueNeeds)
    }

    mutating func prune(removed: ReplicaID, into survivor: ReplicaID,
                        valueNeeds: (Value) -> Bool = { _ in false }, pruneValue: (Value) -> Value = { $0 }) {
        withPending { state, d in
            state.prune(removed: removed, into: survivor, valueNeeds: valueNeeds, pruneValue: pruneValue, delta: &d)
        }
    }

    mutating func pruningCleanup(removed: ReplicaID, valueNeeds: (Value) -> Bool = { _ in false }) {
        state.pruningCleanup(removed: removed, valueNeeds: valueNeeds)
        pending?.pruningCleanup(removed: removed, valueNeeds: valueNeeds)
    }

    @usableFromInline
    static func == (a: DeltaDotStore, b: DeltaDotStore) -> Bool { a.state == b.state }
    @usableFromInline
    func hash(into h: inout Hasher) { h.combine(state) }

    @usableFromInline
    init(from decoder: Decoder) throws { state = try DotStore(from: decoder) }
    static func read(from reader: inout JSONReader) throws -> DeltaDotStore { DeltaDotStore(state: try .read(from: &reader)) }
    @usableFromInline
    func encode(to encoder: Encoder) throws { try state.encode(to: encoder) }
}
