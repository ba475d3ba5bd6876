import JSONCodec

/// An observed-remove set with add-wins semantics and no tombstones. Each add tags the element
/// with a fresh dot; a remove drops the dots it has observed. An add concurrent with a remove
/// carries a dot the remover never saw, so the element stays: add wins.
public struct ORSet<Element: Codable & Hashable & Sendable>: DeltaReplicatedData {
    // The only stored property: equality and hashing (synthesized) cover the state alone.
    @usableFromInline var dots = DeltaDotStore<Element, Bool>()

    /// An empty set.
    public init() {}

    /// The elements.
    public var elements: Set<Element> { Set(dots.entries.keys) }

    /// The number of elements.
    public var count: Int { dots.entries.count }

    /// Whether `element` is in the set.
    public func contains(_ element: Element) -> Bool { dots.entries[element] != nil }

    /// Every event this set has seen.
    public var context: CausalContext { dots.state.context }

    /// Adds `element` on behalf of `replica`.
    public mutating func add(_ element: Element, by replica: ReplicaID) { dots.write(element, true, by: replica) }

    /// Removes `element` (the adds this replica has observed).
    public mutating func remove(_ element: Element) { dots.remove(element) }

    @inlinable
    public mutating func merge(_ other: ORSet) { dots.merge(other.dots) }

    public var delta: ORSet? { dots.delta.map { ORSet(dots: $0) } }
    public mutating func resetDelta() { dots.resetDelta() }
    private init(dots: DeltaDotStore<Element, Bool>) { self.dots = dots }

    public func needsPruning(from removed: ReplicaID) -> Bool { dots.needsPruning(from: removed) }
    public mutating func prune(removed: ReplicaID, into survivor: ReplicaID) { dots.prune(removed: removed, into: survivor) }
    public mutating func pruningCleanup(removed: ReplicaID) { dots.pruningCleanup(removed: removed) }

    public init(from decoder: Decoder) throws { dots = try DeltaDotStore(from: decoder) }
    public static func read(from reader: inout JSONReader) throws -> ORSet {
        ORSet(dots: try .read(from: &reader))
    }
    public func encode(to encoder: Encoder) throws { try dots.encode(to: encoder) }
    public func write(to writer: inout JSONWriter) throws { try dots.state.write(to: &writer) }
}
