import ClusterCore
import CRDT

// Replicated memory holds `ReplicatedValue<JSONValue>`: these let the replication codec read and
// write values without `JSONDecoder`/`JSONEncoder`. ClusterCore cannot see CRDT's protocols and
// CRDT cannot see JSONValue, so the conformances live here, where both meet.
extension JSONValue: JSONReadable {
    /// Reads any JSON value as `JSONValue.init(from:)` does through `JSONDecoder`: numbers as
    /// `Double`, the first of duplicate keys.
    public static func read(from reader: inout JSONReader) throws -> JSONValue {
        switch try reader.peekKind() {
        case .null:
            _ = try reader.readNull()
            return .null
        case .bool: return .bool(try reader.readBool())
        case .number: return .number(try reader.readDouble())
        case .string: return .string(try reader.readString())
        case .array:
            var a: [JSONValue] = []
            try reader.readArray { r, _ in a.append(try JSONValue.read(from: &r)) }
            return .array(a)
        case .object:
            return .object(try reader.readMap { r in try JSONValue.read(from: &r) })
        }
    }
}

extension JSONValue: JSONWritable {
    /// Writes the value as `encoded()` does (ClusterCore's writer, which matches `JSONEncoder`).
    public func write(to writer: inout JSONWriter) throws {
        guard write(into: &writer.bytes) else { throw JSONWriteError(reason: "a number is not finite") }
    }
}
