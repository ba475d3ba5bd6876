import JSONCodec

/// A counter that goes up and down: two grow-only counters, increments and decrements.
public struct PNCounter: DeltaReplicatedData {
    /// Increments.
    public private(set) var increments: GCounter
    /// Decrements.
    public private(set) var decrements: GCounter

    /// A zero counter.
    public init() {
        increments = GCounter()
        decrements = GCounter()
    }

    /// The value, clamped to the range of `Int64`.
    public var value: Int64 {
        let p = increments.value, n = decrements.value
        if p >= n { return Int64(clamping: p - n) }
        let d = n - p
        return d > UInt64(Int64.max) ? Int64.min : -Int64(d)
    }

    /// Adds `amount` (negative to subtract) on behalf of `replica`.
    public mutating func increment(by amount: Int64 = 1, at replica: ReplicaID) {
        if amount >= 0 {
            increments.increment(by: UInt64(amount), at: replica)
        } else {
            decrements.increment(by: amount.magnitude, at: replica)
        }
    }

    public mutating func merge(_ other: PNCounter) {
        increments.merge(other.increments)
        decrements.merge(other.decrements)
    }

    public var delta: PNCounter? {
        let p = increments.delta, n = decrements.delta
        if p == nil && n == nil { return nil }
        var d = PNCounter()
        d.increments = p ?? GCounter()
        d.decrements = n ?? GCounter()
        return d
    }

    public mutating func resetDelta() {
        increments.resetDelta()
        decrements.resetDelta()
    }

    public func needsPruning(from removed: ReplicaID) -> Bool {
        increments.needsPruning(from: removed) || decrements.needsPruning(from: removed)
    }

    public mutating func prune(removed: ReplicaID, into survivor: ReplicaID) {
        increments.prune(removed: removed, into: survivor)
        decrements.prune(removed: removed, into: survivor)
    }

    public mutating func pruningCleanup(removed: ReplicaID) {
        increments.pruningCleanup(removed: removed)
        decrements.pruningCleanup(removed: removed)
    }

    public func write(to writer: inout JSONWriter) throws {
        writer.raw(#"{"decrements":"#)
        try decrements.write(to: &writer)
        writer.raw(#","increments":"#)
        try increments.write(to: &writer)
        writer.raw("}")
    }

    public static func read(from reader: inout JSONReader) throws -> PNCounter {
        var c = PNCounter()
        try reader.readFields(["increments", "decrements"]) { r, k in
            if k == 0 { c.increments = try GCounter.read(from: &r) } else { c.decrements = try GCounter.read(from: &r) }
        }
        return c
    }
}
