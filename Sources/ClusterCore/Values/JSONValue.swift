import Foundation
import JSONCodec

/// A JSON value: what agents take as input, return as output, store in memory and send as messages.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value's JSON type name, as JSON Schema spells it ("integer" for whole numbers).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let d): return d.rounded() == d && d.isFinite ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var doubleValue: Double? { if case .number(let d) = self { return d } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// The value as an integer, when it is a whole number that fits.
    public var intValue: Int? {
        guard case .number(let d) = self, d.rounded() == d, d.isFinite,
              d >= Double(Int.min), d < Double(Int.max) else { return nil }
        return Int(d)
    }

    /// Member of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Element of an array, or nil when out of range.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }
}

extension JSONValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let d = try? c.decode(Double.self) { self = .number(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        if let o = try? c.decode([String: JSONValue].self) { self = .object(o); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d):
            if d.rounded() == d, abs(d) < 9.007_199_254_740_992e15 { try c.encode(Int64(d)) } else { try c.encode(d) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue {
    /// Parses JSON text, accepting exactly what `JSONDecoder` accepts for `JSONValue` (read with
    /// `JSONReader`; a byte-order mark or UTF-16/32 text goes through `JSONDecoder` itself).
    /// Throws `JSONValue.ParseError` naming what was wrong and where (field path, byte offset).
    public static func parse(_ data: Data) throws -> JSONValue {
        do {
            return try JSONReader.decode(JSONValue.self, from: data)
        } catch let error as JSONReadError {
            throw ParseError(reason: error.description)
        } catch {
            throw ParseError(reason: Self.describe(error))
        }
    }

    /// Parses JSON text from a string.
    public static func parse(_ text: String) throws -> JSONValue { try parse(Data(text.utf8)) }

    /// Compact JSON with sorted keys, so equal values encode to equal bytes: the bytes
    /// `JSONEncoder` (`.sortedKeys`, `.withoutEscapingSlashes`) writes, written with `JSONWriter`
    /// (`write(to:)`) because this is on the memory path. A non-finite number, which JSON cannot
    /// hold, makes the whole value `null`, as the encoder's failure did.
    public func encoded() -> Data { Data(utf8Bytes()) }

    /// `encoded()` as a string.
    public var jsonString: String { String(decoding: utf8Bytes(), as: UTF8.self) }

    private func utf8Bytes() -> [UInt8] {
        var writer = JSONWriter()
        do {
            try write(to: &writer)
            return writer.bytes
        } catch {
            return Array("null".utf8)
        }
    }

    /// Why a JSON text did not parse.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        /// What was wrong, and where.
        public let reason: String
        public var description: String { "invalid JSON: \(reason)" }
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let ctx):
            let underlying = (ctx.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? ctx.debugDescription
        default:
            return String(describing: error)
        }
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { jsonString }
}
