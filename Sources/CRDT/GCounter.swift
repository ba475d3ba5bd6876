import JSONCodec

/// A grow-only counter: one monotone count per replica; the value is their sum. Counts saturate
/// at `UInt64.max` rather than trap.
public struct GCounter: DeltaReplicatedData {
    /// Per replica, the amount it has added.
    public private(set) var counts: [ReplicaID: UInt64]
    private var deltaStorage: [GCounter] = []

    /// A zero counter.
    public init() { counts = [:] }

    /// The counter's value (saturating).
    public var value: UInt64 {
        counts.values.reduce(0) { acc, v in
            let (s, o) = acc.addingReportingOverflow(v)
            return o ? UInt64.max : s
        }
    }

    /// Adds `amount` on behalf of `replica`.
    public mutating func increment(by amount: UInt64 = 1, at replica: ReplicaID) {
        guard amount > 0 else { return }
        let (s, o) = (counts[replica] ?? 0).addingReportingOverflow(amount)
        let next = o ? UInt64.max : s
        counts[replica] = next
        recordDelta { $0.counts[replica] = next }
    }

    public mutating func merge(_ other: GCounter) {
        for (k, v) in other.counts where v > (counts[k] ?? 0) { counts[k] = v }
    }

    public var delta: GCounter? { deltaStorage.first }
    public mutating func resetDelta() { deltaStorage = [] }

    public func needsPruning(from removed: ReplicaID) -> Bool { counts[removed] != nil }

    public mutating func prune(removed: ReplicaID, into survivor: ReplicaID) {
        guard let moved = counts.removeValue(forKey: removed) else { return }
        if !deltaStorage.isEmpty { deltaStorage[0].counts.removeValue(forKey: removed) }
        increment(by: moved, at: survivor)
    }

    public mutating func pruningCleanup(removed: ReplicaID) {
        counts.removeValue(forKey: removed)
        if !deltaStorage.isEmpty { deltaStorage[0].counts.removeValue(forKey: removed) }
    }

    private mutating func recordDelta(_ body: (inout GCounter) -> Void) {
        if deltaStorage.isEmpty { deltaStorage = [GCounter()] }
        body(&deltaStorage[0])
    }

    public static func == (a: GCounter, b: GCounter) -> Bool { a.counts == b.counts }
    public func hash(into h: inout Hasher) { h.combine(counts) }

    private enum CodingKeys: String, CodingKey { case counts }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        counts = try c.decode([ReplicaID: UInt64].self, forKey: .counts).filter { $0.value > 0 }
    }
    public func write(to writer: inout JSONWriter) throws {
        writer.raw(#"{"counts":"#)
        ReplicaID.writeCounters(counts, to: &writer)
        writer.raw("}")
    }
    public static func read(from reader: inout JSONReader) throws -> GCounter {
        var g = GCounter()
        try reader.readFields(["counts"]) { r, _ in
            g.counts = try ReplicaID.readCounters(from: &r).filter { $0.value > 0 }
        }
        return g
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(counts, forKey: .counts)
    }
}
