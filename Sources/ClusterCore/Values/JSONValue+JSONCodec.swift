import Foundation
import JSONCodec

// JSONValue reads and writes itself with the project's JSON codec: `parse`, `encoded()` and the
// replication of memory values all come through here, without `JSONDecoder`/`JSONEncoder`.

extension JSONValue: JSONReadable {
    /// Reads any JSON value as `JSONValue.init(from:)` does through `JSONDecoder`: numbers as
    /// `Double` (rejected when out of its range), the first of duplicate keys.
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
    /// Writes the value as `JSONEncoder` (`.sortedKeys`, `.withoutEscapingSlashes`) writes it
    /// through `encode(to:)`: whole numbers below 2^53 as integers, other numbers as Swift prints
    /// them without a trailing `.0`. Throws `JSONWriteError` for a non-finite number.
    public func write(to writer: inout JSONWriter) throws {
        switch self {
        case .null: writer.raw("null")
        case .bool(let b): writer.bool(b)
        case .number(let d):
            if d.rounded() == d, abs(d) < 9.007_199_254_740_992e15 {
                writer.integer(Int64(d))
            } else {
                try writer.double(d)
            }
        case .string(let s): writer.string(s)
        case .array(let a): try writer.array(a) { w, v in try v.write(to: &w) }
        case .object(let o): try writer.object(o, key: { $0 }) { w, v in try v.write(to: &w) }
        }
    }

    /// Appends the value's JSON (as `write(to:)` writes it) to `out`. Returns false, leaving `out`
    /// partly written, when a number is not finite (JSON cannot hold it).
    public func write(into out: inout [UInt8]) -> Bool {
        var writer = JSONWriter(appendingTo: out)
        // Leaves the writer the only owner of the buffer, so appending does not copy it.
        out = []
        defer { out = writer.bytes }
        do {
            try write(to: &writer)
            return true
        } catch {
            return false
        }
    }
}
