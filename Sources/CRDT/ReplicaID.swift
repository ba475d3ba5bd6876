import JSONCodec

/// The identity of a replica: the node id string. A node that restarts with its state keeps its id;
/// a node that was pruned must never come back under the same id.
public struct ReplicaID: Sendable, Hashable, Comparable, Codable, CodingKeyRepresentable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    /// The node id.
    public let value: String

    /// A replica id from a node id.
    public init(_ value: String) { self.value = value }

    public init(stringLiteral value: String) { self.value = value }

    public var description: String { value }

    public static func < (lhs: ReplicaID, rhs: ReplicaID) -> Bool { lhs.value < rhs.value }

    public init(from decoder: Decoder) throws {
        value = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public var codingKey: CodingKey { Key(stringValue: value) }

    public init?<T: CodingKey>(codingKey: T) { self.value = codingKey.stringValue }
}

/// One event of one replica: the replica's id and its event counter (1, 2, 3, ...).
public struct Dot: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The replica that made the event.
    public let replica: ReplicaID
    /// The replica's event number, starting at 1.
    public let counter: UInt64

    /// A dot.
    public init(_ replica: ReplicaID, _ counter: UInt64) {
        self.replica = replica
        self.counter = counter
    }

    public var description: String { "\(replica.value):\(counter)" }

    public static func < (a: Dot, b: Dot) -> Bool {
        a.replica == b.replica ? a.counter < b.counter : a.replica < b.replica
    }

    // Encoded as a two-element array to keep states small.
    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        replica = try c.decode(ReplicaID.self)
        counter = try c.decode(UInt64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(replica)
        try c.encode(counter)
    }
}

extension ReplicaID: JSONWritable {
    public func write(to writer: inout JSONWriter) throws { writer.string(value) }

    /// Per-replica counters as `Codable` writes `[ReplicaID: UInt64]`.
    static func writeCounters(_ counters: [ReplicaID: UInt64], to writer: inout JSONWriter) {
        writer.object(counters, key: \.value) { w, n in w.integer(n) }
    }
}

extension Dot: JSONWritable {
    public func write(to writer: inout JSONWriter) throws {
        writer.raw("[")
        writer.string(replica.value)
        writer.raw(",")
        writer.integer(counter)
        writer.raw("]")
    }
}

extension ReplicaID: JSONReadable {
    public static func read(from reader: inout JSONReader) throws -> ReplicaID { ReplicaID(try reader.readString()) }

    /// A JSON object of per-replica counters (`[ReplicaID: UInt64]` as `Codable` writes it).
    static func readCounters(from reader: inout JSONReader) throws -> [ReplicaID: UInt64] {
        var out: [ReplicaID: UInt64] = [:]
        try reader.readObject { r, key in
            let id = ReplicaID(key)
            if out[id] == nil { out[id] = try r.readInteger() } else { try r.skipValue() }
        }
        return out
    }
}

extension Dot: JSONReadable {
    public static func read(from reader: inout JSONReader) throws -> Dot {
        var replica: ReplicaID?, counter: UInt64?
        try reader.readArray { r, n in
            switch n {
            case 0: replica = ReplicaID(try r.readString())
            case 1: counter = try r.readInteger()
            default: try r.skipValue()
            }
        }
        guard let replica, let counter else { throw reader.error("expected [replica, counter]") }
        return Dot(replica, counter)
    }
}
