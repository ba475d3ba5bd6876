/// A multi-value register: a write replaces every value it has observed; concurrent writes are all
/// kept until a later write, which has seen them, replaces them.
public struct MVRegister<Value: Codable & Hashable & Sendable>: DeltaReplicatedData {
    @usableFromInline var store = DotStore<Int, Value>()
    private var pending: DotStore<Int, Value>?

    /// An empty register.
    public init() {}

    /// The concurrent values, ordered by the dot of their write (deterministic on every replica).
    public var values: [Value] { store[0].map(\.value) }

    /// Writes `value` on behalf of `replica`, replacing the values this replica has seen.
    public mutating func set(_ value: Value, by replica: ReplicaID) {
        withPending { store, d in
            store.write(0, value, by: replica, delta: &d)
        }
    }

    /// Clears the register (the values this replica has seen).
    public mutating func clear() {
        withPending { store, d in
            store.remove(0, delta: &d)
        }
    }

    /// Runs `body` on the pending delta, taken out first so it is uniquely referenced and
    /// mutated in place rather than copied.
    private mutating func withPending(_ body: (inout DotStore<Int, Value>, inout DotStore<Int, Value>) -> Void) {
        var d = pending ?? DotStore<Int, Value>(delta: true)
        pending = nil
        body(&store, &d)
        pending = d
    }

    @inlinable
    public mutating func merge(_ other: MVRegister) { store.merge(other.store) }

    public var delta: MVRegister? {
        guard let pending else { return nil }
        var d = MVRegister()
        d.store = pending
        return d
    }

    public mutating func resetDelta() { pending = nil }

    public func needsPruning(from removed: ReplicaID) -> Bool {
        store.needsPruning(from: removed) { _ in false }
    }

    public mutating func prune(removed: ReplicaID, into survivor: ReplicaID) {
        withPending { store, d in
            store.prune(removed: removed, into: survivor, valueNeeds: { _ in false }, pruneValue: { $0 }, delta: &d)
        }
    }

    public mutating func pruningCleanup(removed: ReplicaID) {
        store.pruningCleanup(removed: removed) { _ in false }
        pending?.pruningCleanup(removed: removed) { _ in false }
    }

    public static func == (a: MVRegister, b: MVRegister) -> Bool { a.store == b.store }
    public func hash(into h: inout Hasher) { h.combine(store) }

    public init(from decoder: Decoder) throws { store = try DotStore(from: decoder) }
    public func encode(to encoder: Encoder) throws { try store.encode(to: encoder) }
}
