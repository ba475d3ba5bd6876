import Foundation

/// A compiled JSON Schema (the subset documented in docs/contracts-and-tools.md).
///
/// The schema is checked and compiled once, in `init`: a malformed schema is a `SchemaError` naming
/// its path, and `pattern`s become regular expressions only once. `validate` then reports every
/// violation with the path of the offending value, not just the first one.
///
/// Equality, hashing and `Codable` use the JSON source, so a schema travels in checkpoints and
/// configs as the document it was written as.
public struct JSONSchema: Sendable, Hashable {
    /// The schema document as given.
    public let source: JSONValue
    let root: SchemaNode

    /// Compiles `schema`. Throws `SchemaError` with the path of the first malformed part.
    public init(_ schema: JSONValue) throws(SchemaError) {
        self.source = schema
        self.root = try SchemaNode.compile(schema, path: "$")
    }

    /// Parses and compiles a schema written as JSON text.
    public init(json text: String) throws(SchemaError) {
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch {
            throw SchemaError(path: "$", message: "not valid JSON: \(error)")
        }
        try self.init(value)
    }

    /// Every violation of the schema by `value`; empty when the value conforms.
    public func validate(_ value: JSONValue) -> [SchemaViolation] {
        var out: [SchemaViolation] = []
        root.validate(value, path: "$", into: &out)
        return out
    }

    /// True when `value` conforms.
    public func accepts(_ value: JSONValue) -> Bool { validate(value).isEmpty }

    public static func == (a: JSONSchema, b: JSONSchema) -> Bool { a.source == b.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}

extension JSONSchema: Codable {
    public init(from decoder: Decoder) throws {
        let value = try JSONValue(from: decoder)
        do {
            try self.init(value)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws { try source.encode(to: encoder) }
}

extension JSONSchema: CustomStringConvertible {
    public var description: String { source.jsonString }
}
