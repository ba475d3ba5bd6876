import JSONCodec

/// The set of events a dot-based state has seen: a compact version vector plus a "dot cloud" of
/// events seen out of order. Kept canonical (every dot that extends the vector is folded into it),
/// so equal event sets are equal values.
public struct CausalContext: Sendable, Hashable, Codable {
    /// The contiguous prefix of events seen per replica.
    public private(set) var compact: VersionVector
    /// Events seen beyond the contiguous prefix.
    public private(set) var cloud: Set<Dot>

    /// An empty context.
    public init() {
        compact = VersionVector()
        cloud = []
    }

    /// Whether the event has been seen.
    public func contains(_ dot: Dot) -> Bool {
        compact.contains(dot) || (!cloud.isEmpty && cloud.contains(dot))
    }

    /// Whether no event has been seen.
    public var isEmpty: Bool { compact.isEmpty && cloud.isEmpty }

    /// The next fresh event of `replica`.
    public func nextDot(_ replica: ReplicaID) -> Dot {
        // Saturates rather than traps: a peer's context may carry counters up to UInt64.max.
        let base = compact[replica]
        var n = base == .max ? base : base + 1
        while n < .max, cloud.contains(Dot(replica, n)) { n += 1 }
        return Dot(replica, n)
    }

    /// Records an event.
    public mutating func insert(_ dot: Dot) {
        let base = compact[dot.replica]
        if dot.counter <= base { return }
        if dot.counter == base + 1 {
            var top = dot.counter
            while top < .max, !cloud.isEmpty, cloud.remove(Dot(dot.replica, top + 1)) != nil { top += 1 }
            compact.raise(dot.replica, to: top)
        } else {
            cloud.insert(dot)
        }
    }

    /// Joins another context into this one.
    public mutating func merge(_ other: CausalContext) {
        compact.merge(other.compact)
        if cloud.isEmpty && other.cloud.isEmpty { return }
        let pending = cloud.union(other.cloud).sorted()
        cloud = []
        for dot in pending { insert(dot) }
    }

    /// Forgets every event of `removed` (only once no live entry carries such a dot).
    public mutating func drop(_ removed: ReplicaID) {
        compact.pruningCleanup(removed: removed)
        cloud = cloud.filter { $0.replica != removed }
    }

    /// Whether any event of `replica` is recorded.
    public func mentions(_ replica: ReplicaID) -> Bool {
        compact[replica] > 0 || cloud.contains { $0.replica == replica }
    }

    private enum CodingKeys: String, CodingKey { case vv, cloud }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        compact = try c.decode(VersionVector.self, forKey: .vv)
        // Re-inserting keeps the context canonical whatever the sender wrote.
        for dot in try c.decode([Dot].self, forKey: .cloud).sorted() { insert(dot) }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(compact, forKey: .vv)
        try c.encode(cloud.sorted(), forKey: .cloud)
    }
}

extension CausalContext: JSONWritable {
    public func write(to writer: inout JSONWriter) throws {
        writer.raw(#"{"cloud":"#)
        try writer.array(cloud.sorted()) { w, dot in try dot.write(to: &w) }
        writer.raw(#","vv":"#)
        try compact.write(to: &writer)
        writer.raw("}")
    }
}

extension CausalContext: JSONReadable {
    public static func read(from reader: inout JSONReader) throws -> CausalContext {
        var vv = VersionVector()
        var dots: [Dot] = []
        try reader.readFields(["vv", "cloud"]) { r, k in
            if k == 0 {
                vv = try VersionVector.read(from: &r)
            } else {
                try r.readArray { r, _ in dots.append(try Dot.read(from: &r)) }
            }
        }
        var context = CausalContext()
        context.compact = vv
        for dot in dots.sorted() { context.insert(dot) }
        return context
    }
}

/// A read-only view of a causal context for the duration of one merge: with few replicas (the
/// usual case) the version vector is scanned linearly, which is cheaper than hashing the id.
@usableFromInline
struct ContextProbe {
    @usableFromInline let ids: [ReplicaID]
    @usableFromInline let counters: [UInt64]
    @usableFromInline let cloud: Set<Dot>
    @usableFromInline let context: CausalContext
    @usableFromInline let linear: Bool

    @inlinable
    init(_ context: CausalContext) {
        self.context = context
        let entries = context.compact.entries
        linear = entries.count <= 16
        ids = linear ? Array(entries.keys) : []
        counters = linear ? ids.map { entries[$0] ?? 0 } : []
        cloud = context.cloud
    }

    @inlinable
    func contains(_ dot: Dot) -> Bool {
        guard linear else { return context.contains(dot) }
        for i in ids.indices where ids[i] == dot.replica {
            if dot.counter <= counters[i] { return true }
            break
        }
        return !cloud.isEmpty && cloud.contains(dot)
    }
}
