// Stand-in for Contracts/JSONSchema.swift (contracts-tools helper) so the broker compiles before it
// lands. The lead deletes this file on merge. It checks only `type`, `required` and `properties`.

/// Stand-in for the contracts helper's JSON-schema validator (same API).
public struct JSONSchema: Sendable, Hashable, Codable {
    /// The schema as written.
    public let source: JSONValue

    /// Wraps a schema document.
    public init(_ json: JSONValue) throws { source = json }

    public init(from decoder: Decoder) throws { try self.init(JSONValue(from: decoder)) }
    public func encode(to encoder: Encoder) throws { try source.encode(to: encoder) }

    /// Violations of `value` against the schema; empty when it conforms.
    public func validate(_ value: JSONValue) -> [SchemaViolation] {
        var out: [SchemaViolation] = []
        Self.check(source, value, "$", &out)
        return out
    }

    private static func check(_ schema: JSONValue, _ value: JSONValue, _ path: String, _ out: inout [SchemaViolation]) {
        if let type = schema["type"]?.stringValue {
            let actual = value.typeName
            let ok = type == actual || (type == "number" && actual == "integer")
            if !ok { out.append(SchemaViolation(path: path, message: "expected \(type), got \(actual)")); return }
        }
        guard let object = value.objectValue else { return }
        for case .string(let key) in schema["required"]?.arrayValue ?? [] where object[key] == nil {
            out.append(SchemaViolation(path: path, message: "missing required property '\(key)'"))
        }
        for (key, sub) in schema["properties"]?.objectValue ?? [:] {
            if let v = object[key] { check(sub, v, "\(path).\(key)", &out) }
        }
    }
}

/// Stand-in for the contracts helper's schema violation (same API).
public struct SchemaViolation: Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}
