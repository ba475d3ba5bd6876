/// An observed-remove set with add-wins semantics and no tombstones. Each add tags the element
/// with a fresh dot; a remove drops the dots it has observed. An add concurrent with a remove
/// carries a dot the remover never saw, so the element stays: add wins.
public struct ORSet<Element: Codable & Hashable & Sendable>: DeltaReplicatedData {
    @usableFromInline var store = DotStore<Element, Bool>()
    private var pending: DotStore<Element, Bool>?

    /// An empty set.
    public init() {}

    /// The elements.
    public var elements: Set<Element> { Set(store.entries.keys) }

    /// The number of elements.
    public var count: Int { store.entries.count }

    /// Whether `element` is in the set.
    public func contains(_ element: Element) -> Bool { store.entries[element] != nil }

    /// Every event this set has seen.
    public var context: CausalContext { store.context }

    /// Adds `element` on behalf of `replica`.
    public mutating func add(_ element: Element, by replica: ReplicaID) {
        withPending { store, d in
            store.write(element, true, by: replica, delta: &d)
        }
    }

    /// Removes `element` (the adds this replica has observed).
    public mutating func remove(_ element: Element) {
        guard contains(element) else { return }
        withPending { store, d in
            store.remove(element, delta: &d)
        }
    }

    /// Runs `body` on the pending delta, taken out first so it is uniquely referenced and
    /// mutated in place rather than copied.
    private mutating func withPending(_ body: (inout DotStore<Element, Bool>, inout DotStore<Element, Bool>) -> Void) {
        var d = pending ?? DotStore<Element, Bool>(delta: true)
        pending = nil
        body(&store, &d)
        pending = d
    }

    @inlinable
    public mutating func merge(_ other: ORSet) { store.merge(other.store) }

    public var delta: ORSet? {
        guard let pending else { return nil }
        var d = ORSet()
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

    public static func == (a: ORSet, b: ORSet) -> Bool { a.store == b.store }
    public func hash(into h: inout Hasher) { h.combine(store) }

    public init(from decoder: Decoder) throws {
        store = try DotStore(from: decoder)
    }
    public func encode(to encoder: Encoder) throws { try store.encode(to: encoder) }
}
