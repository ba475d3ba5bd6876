import JSONCodec

/// A version vector: per replica, the number of events seen from it. Entries that are zero are not
/// stored, so equal vectors are equal values.
public struct VersionVector: DeltaReplicatedData {
    /// Per replica, the highest event counter seen.
    public private(set) var entries: [ReplicaID: UInt64]
    private var deltaStorage: [VersionVector] = []

    /// An empty vector, or one with the given entries (zeros dropped).
    public init(_ entries: [ReplicaID: UInt64] = [:]) {
        self.entries = entries.filter { $0.value > 0 }
    }

    /// How two vectors relate causally.
    public enum Ordering: Sendable, Equatable {
        case before, after, same, concurrent
    }

    /// The counter for `replica`, zero when absent.
    public subscript(replica: ReplicaID) -> UInt64 { entries[replica] ?? 0 }

    /// Whether no replica has an entry.
    public var isEmpty: Bool { entries.isEmpty }

    /// Whether the event `dot` happened before or at this vector.
    public func contains(_ dot: Dot) -> Bool { dot.counter <= self[dot.replica] }

    /// Records one more event at `replica` and returns its dot.
    @discardableResult
    public mutating func increment(_ replica: ReplicaID) -> Dot {
        let next = self[replica] == UInt64.max ? UInt64.max : self[replica] + 1
        entries[replica] = next
        recordDelta { $0.entries[replica] = next }
        return Dot(replica, next)
    }

    /// Raises the entry for `replica` to at least `counter`.
    public mutating func raise(_ replica: ReplicaID, to counter: UInt64) {
        guard counter > self[replica] else { return }
        entries[replica] = counter
    }

    /// The causal relation between this vector and `other`.
    public func compare(_ other: VersionVector) -> Ordering {
        var less = false, greater = false
        for key in Set(entries.keys).union(other.entries.keys) {
            let a = self[key], b = other[key]
            if a < b { less = true }
            if a > b { greater = true }
            if less && greater { return .concurrent }
        }
        switch (less, greater) {
        case (false, false): return .same
        case (true, false): return .before
        case (false, true): return .after
        case (true, true): return .concurrent
        }
    }

    public mutating func merge(_ other: VersionVector) {
        for (k, v) in other.entries where v > self[k] { entries[k] = v }
    }

    public var delta: VersionVector? { deltaStorage.first }
    public mutating func resetDelta() { deltaStorage = [] }

    public func needsPruning(from removed: ReplicaID) -> Bool { entries[removed] != nil }

    /// Drops `removed` and advances `survivor`, so the pruned vector is newer than any vector that
    /// still held `removed`'s entry.
    public mutating func prune(removed: ReplicaID, into survivor: ReplicaID) {
        guard entries.removeValue(forKey: removed) != nil else { return }
        increment(survivor)
    }

    public mutating func pruningCleanup(removed: ReplicaID) {
        entries.removeValue(forKey: removed)
    }

    private mutating func recordDelta(_ body: (inout VersionVector) -> Void) {
        if deltaStorage.isEmpty { deltaStorage = [VersionVector()] }
        body(&deltaStorage[0])
    }

    public static func == (a: VersionVector, b: VersionVector) -> Bool { a.entries == b.entries }
    public func hash(into h: inout Hasher) { h.combine(entries) }

    private enum CodingKeys: String, CodingKey { case entries }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(try c.decode([ReplicaID: UInt64].self, forKey: .entries))
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(entries, forKey: .entries)
    }

    public func write(to writer: inout JSONWriter) throws {
        writer.raw(#"{"entries":"#)
        ReplicaID.writeCounters(entries, to: &writer)
        writer.raw("}")
    }

    public static func read(from reader: inout JSONReader) throws -> VersionVector {
        var entries: [ReplicaID: UInt64] = [:]
        try reader.readFields(["entries"]) { r, _ in entries = try ReplicaID.readCounters(from: &r) }
        return VersionVector(entries)
    }
}
