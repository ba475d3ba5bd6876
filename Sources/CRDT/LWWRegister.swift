import JSONCodec

/// A last-writer-wins register: the value with the greatest hybrid logical clock timestamp wins;
/// equal timestamps come from one write, and the node id inside the timestamp breaks all other
/// ties.
public struct LWWRegister<Value: Codable & Hashable & Sendable>: DeltaReplicatedData {
    /// The current value.
    public private(set) var value: Value
    /// When it was written.
    public private(set) var timestamp: HLC
    private var deltaStorage: [LWWRegister] = []

    /// A register holding `value` written at `timestamp`.
    public init(_ value: Value, timestamp: HLC) {
        self.value = value
        self.timestamp = timestamp
    }

    /// Writes `value` on behalf of `replica` at wall time `wall` (ms); the write is ordered after
    /// the current value even when the local clock is behind.
    public mutating func set(_ value: Value, wall: Int64, by replica: ReplicaID) {
        set(value, timestamp: HLC.now(wall: wall, node: replica, after: timestamp))
    }

    /// Writes `value` with an explicit timestamp (ignored when older than the current one).
    public mutating func set(_ value: Value, timestamp: HLC) {
        let write = LWWRegister(value, timestamp: timestamp)
        merge(write)
        deltaStorage = [LWWRegister(self.value, timestamp: self.timestamp)]
    }

    public mutating func merge(_ other: LWWRegister) {
        if other.timestamp > timestamp || (other.timestamp == timestamp && Self.valueWins(other.value, over: value)) {
            value = other.value
            timestamp = other.timestamp
        }
    }

    /// Orders different values written with one timestamp, which only a misbehaving writer can
    /// produce; any total order keeps merge commutative.
    static func valueWins(_ a: Value, over b: Value) -> Bool {
        a != b && CRDTCoding.sortKey(b).lexicographicallyPrecedes(CRDTCoding.sortKey(a))
    }

    public var delta: LWWRegister? { deltaStorage.first }
    public mutating func resetDelta() { deltaStorage = [] }

    public static func == (a: LWWRegister, b: LWWRegister) -> Bool {
        a.timestamp == b.timestamp && a.value == b.value
    }
    public func hash(into h: inout Hasher) {
        h.combine(timestamp)
        h.combine(value)
    }

    private enum CodingKeys: String, CodingKey { case value, timestamp = "ts" }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = try c.decode(Value.self, forKey: .value)
        timestamp = try c.decode(HLC.self, forKey: .timestamp)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(value, forKey: .value)
        try c.encode(timestamp, forKey: .timestamp)
    }
    public func write(to writer: inout JSONWriter) throws {
        writer.raw(#"{"ts":"#)
        try timestamp.write(to: &writer)
        writer.raw(#","value":"#)
        try writer.value(value)
        writer.raw("}")
    }
    public static func read(from reader: inout JSONReader) throws -> LWWRegister {
        var value: Value?, timestamp: HLC?
        try reader.readFields(["value", "ts"]) { r, k in
            if k == 0 { value = try r.read(Value.self) } else { timestamp = try HLC.read(from: &r) }
        }
        guard let value, let timestamp else { throw reader.error("key 'value' not found") }
        return LWWRegister(value, timestamp: timestamp)
    }
}
