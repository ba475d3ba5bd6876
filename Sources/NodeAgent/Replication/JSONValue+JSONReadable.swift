import ClusterCore
import CRDT

// Replicated memory holds `ReplicatedValue<JSONValue>`: this lets the replication decoder read
// values without `JSONDecoder`. ClusterCore cannot see CRDT's protocol and CRDT cannot see
// JSONValue, so the conformance lives here, where both meet.
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
