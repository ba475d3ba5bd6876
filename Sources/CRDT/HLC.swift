import JSONCodec

/// A hybrid logical clock timestamp (Kulkarni et al. 2014): wall-clock milliseconds, a logical
/// counter for events within the same millisecond or behind a faster remote clock, and the node id
/// that breaks the remaining ties. Ordered by (wall, logical, node): a total order.
///
/// The functions are pure: the wall time is an input, so tests and replicas are deterministic.
public struct HLC: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Physical component, milliseconds since the Unix epoch.
    public let wall: Int64
    /// Logical component.
    public let logical: UInt32
    /// The node that issued the timestamp.
    public let node: ReplicaID

    /// A timestamp.
    public init(wall: Int64, logical: UInt32 = 0, node: ReplicaID) {
        self.wall = wall
        self.logical = logical
        self.node = node
    }

    /// The smallest timestamp of `node`.
    public static func zero(_ node: ReplicaID) -> HLC { HLC(wall: Int64.min, logical: 0, node: node) }

    /// A fresh local timestamp for `node`, later than `last` (the node's previous timestamp or the
    /// latest it has observed) and not earlier than `wall`.
    public static func now(wall: Int64, node: ReplicaID, after last: HLC?) -> HLC {
        guard let last, last.wall >= wall else { return HLC(wall: wall, logical: 0, node: node) }
        return successor(wall: last.wall, logical: last.logical, node: node)
    }

    /// The timestamp of `node` after receiving `remote`: later than both `remote` and `last`.
    public static func receive(_ remote: HLC, wall: Int64, node: ReplicaID, after last: HLC?) -> HLC {
        let latest = last.map { max($0, remote) } ?? remote
        return now(wall: wall, node: node, after: latest)
    }

    private static func successor(wall: Int64, logical: UInt32, node: ReplicaID) -> HLC {
        if logical == UInt32.max { return HLC(wall: wall &+ 1, logical: 0, node: node) }
        return HLC(wall: wall, logical: logical + 1, node: node)
    }

    public static func < (a: HLC, b: HLC) -> Bool {
        if a.wall != b.wall { return a.wall < b.wall }
        if a.logical != b.logical { return a.logical < b.logical }
        return a.node < b.node
    }

    public var description: String { "\(wall).\(logical)@\(node.value)" }

    // Encoded as [wall, logical, node] to keep map entries small.
    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        wall = try c.decode(Int64.self)
        logical = try c.decode(UInt32.self)
        node = try c.decode(ReplicaID.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(wall)
        try c.encode(logical)
        try c.encode(node)
    }
}

extension HLC: JSONWritable {
    public func write(to writer: inout JSONWriter) throws {
        writer.raw("[")
        writer.integer(wall)
        writer.raw(",")
        writer.integer(logical)
        writer.raw(",")
        writer.string(node.value)
        writer.raw("]")
    }
}

extension HLC: JSONReadable {
    public static func read(from reader: inout JSONReader) throws -> HLC {
        var wall: Int64?, logical: UInt32?, node: ReplicaID?
        try reader.readArray { r, n in
            switch n {
            case 0: wall = try r.readInteger()
            case 1: logical = try r.readInteger()
            case 2: node = ReplicaID(try r.readString())
            default: try r.skipValue()
            }
        }
        guard let wall, let logical, let node else { throw reader.error("expected [wall, logical, node]") }
        return HLC(wall: wall, logical: logical, node: node)
    }
}
