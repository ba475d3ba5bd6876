import JSONCodec

/// An observed-remove map from string keys to nested replicated values, add-wins on keys.
///
/// Every update of a key stores, under a fresh dot, the key's whole new value and drops the dots
/// it observed; the value read is the join of the values under the key's live dots. So an update
/// concurrent with a remove keeps the key, holding the updater's value (which includes what the
/// updater had seen); a remove followed by an update starts from an empty value.
public struct ORMap<Value: DeltaReplicatedData>: DeltaReplicatedData {
    // The only stored property: equality and hashing (synthesized) cover the state alone.
    @usableFromInline var dots = DeltaDotStore<String, Value>()

    /// An empty map.
    public init() {}

    /// The keys present.
    public var keys: [String] { dots.entries.keys.sorted() }

    /// The number of keys.
    public var count: Int { dots.entries.count }

    /// The value under `key`: the join of its concurrent versions.
    public subscript(key: String) -> Value? {
        guard let tagged = dots.entries[key]?.tags, var v = tagged.first?.value else { return nil }
        for t in tagged.dropFirst() { v.merge(t.value) }
        return v
    }

    /// Updates the value under `key` (starting from `initial` when absent) on behalf of `replica`.
    public mutating func update(_ key: String, by replica: ReplicaID, initial: Value,
                                _ body: (inout Value) -> Void) {
        var v = self[key] ?? initial
        body(&v)
        v.resetDelta()
        dots.write(key, v, by: replica)
    }

    /// Removes `key` (the versions this replica has observed).
    public mutating func remove(_ key: String) { dots.remove(key) }

    @inlinable
    public mutating func merge(_ other: ORMap) { dots.merge(other.dots) }

    public var delta: ORMap? { dots.delta.map { ORMap(dots: $0) } }
    public mutating func resetDelta() { dots.resetDelta() }
    private init(dots: DeltaDotStore<String, Value>) { self.dots = dots }

    // Nested values written while `removed` was a member may mention it: they are pruned too.
    public func needsPruning(from removed: ReplicaID) -> Bool {
        dots.needsPruning(from: removed) { $0.needsPruning(from: removed) }
    }

    public mutating func prune(removed: ReplicaID, into survivor: ReplicaID) {
        dots.prune(removed: removed, into: survivor, valueNeeds: { $0.needsPruning(from: removed) }) { value in
            var v = value
            v.prune(removed: removed, into: survivor)
            v.resetDelta()
            return v
        }
    }

    public mutating func pruningCleanup(removed: ReplicaID) {
        dots.pruningCleanup(removed: removed) { $0.needsPruning(from: removed) }
    }

    public init(from decoder: Decoder) throws { dots = try DeltaDotStore(from: decoder) }
    public static func read(from reader: inout JSONReader) throws -> ORMap {
        ORMap(dots: try .read(from: &reader))
    }
    public func encode(to encoder: Encoder) throws { try dots.encode(to: encoder) }
    public func write(to writer: inout JSONWriter) throws { try dots.state.write(to: &writer) }
}
