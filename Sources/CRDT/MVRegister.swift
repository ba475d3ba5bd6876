import JSONCodec

/// A multi-value register: a write replaces every value it has observed; concurrent writes are all
/// kept until a later write, which has seen them, replaces them. A dot store with the single key 0.
public struct MVRegister<Value: Codable & Hashable & Sendable>: DeltaReplicatedData {
    // The only stored property: equality and hashing (synthesized) cover the state alone.
    @usableFromInline var dots = DeltaDotStore<Int, Value>()

    /// An empty register.
    public init() {}

    /// The concurrent values, ordered by the dot of their write (deterministic on every replica).
    public var values: [Value] { dots.state[0].map(\.value) }

    /// Writes `value` on behalf of `replica`, replacing the values this replica has seen.
    public mutating func set(_ value: Value, by replica: ReplicaID) { dots.write(0, value, by: replica) }

    /// Clears the register (the values this replica has seen).
    public mutating func clear() { dots.remove(0) }

    @inlinable
    public mutating func merge(_ other: MVRegister) { dots.merge(other.dots) }

    public var delta: MVRegister? { dots.delta.map { MVRegister(dots: $0) } }
    public mutating func resetDelta() { dots.resetDelta() }
    private init(dots: DeltaDotStore<Int, Value>) { self.dots = dots }

    public func needsPruning(from removed: ReplicaID) -> Bool { dots.needsPruning(from: removed) }
    public mutating func prune(removed: ReplicaID, into survivor: ReplicaID) { dots.prune(removed: removed, into: survivor) }
    public mutating func pruningCleanup(removed: ReplicaID) { dots.pruningCleanup(removed: removed) }

    public init(from decoder: Decoder) throws { dots = try DeltaDotStore(from: decoder) }
    public static func read(from reader: inout JSONReader) throws -> MVRegister {
        MVRegister(dots: try .read(from: &reader))
    }
    public func encode(to encoder: Encoder) throws { try dots.encode(to: encoder) }
    public func write(to writer: inout JSONWriter) throws { try dots.state.write(to: &writer) }
}
