import Foundation

/// A JSON type name as a schema's `type` keyword spells it.
enum SchemaType: String, Sendable, CaseIterable {
    case null, boolean, integer, number, string, array, object

    /// Whether `value` has this type; every integer is also a number.
    func admits(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.null, .null), (.boolean, .bool), (.string, .string), (.array, .array), (.object, .object):
            return true
        case (.number, .number(let d)):
            return d.isFinite
        case (.integer, .number(let d)):
            return d.isFinite && d.rounded() == d
        default:
            return false
        }
    }
}

/// A regular expression compiled once; NSRegularExpression is immutable and safe to share.
final class CompiledPattern: @unchecked Sendable {
    let source: String
    let regex: NSRegularExpression

    init(_ source: String) throws {
        self.source = source
        self.regex = try NSRegularExpression(pattern: source, options: [])
    }

    /// JSON Schema patterns are not anchored: a match anywhere in the string counts.
    func matches(_ s: String) -> Bool {
        regex.firstMatch(in: s, options: [], range: NSRange(s.startIndex..., in: s)) != nil
    }
}

/// One compiled schema (or subschema). A class so that schemas can nest without copying.
final class SchemaNode: Sendable {
    enum Additional: Sendable {
        case allowed
        case forbidden
        case schema(SchemaNode)
    }

    /// `true` accepts everything, `false` nothing (boolean schemas).
    let acceptsNothing: Bool
    let types: [SchemaType]?
    let properties: [(name: String, node: SchemaNode)]
    let propertyIndex: [String: Int]
    let required: [String]
    let additional: Additional
    let items: SchemaNode?
    let minItems: Int?
    let maxItems: Int?
    let enumValues: [JSONValue]?
    let constValue: JSONValue?
    let minimum: Double?
    let maximum: Double?
    let exclusiveMinimum: Double?
    let exclusiveMaximum: Double?
    let minLength: Int?
    let maxLength: Int?
    let pattern: CompiledPattern?

    private init(acceptsNothing: Bool) {
        self.acceptsNothing = acceptsNothing
        types = nil; properties = []; propertyIndex = [:]; required = []; additional = .allowed; items = nil
        minItems = nil; maxItems = nil; enumValues = nil; constValue = nil
        minimum = nil; maximum = nil; exclusiveMinimum = nil; exclusiveMaximum = nil
        minLength = nil; maxLength = nil; pattern = nil
    }

    /// Keywords of full JSON Schema that this subset does not implement. Ignoring them would pass
    /// values the author meant to reject, so they are an error rather than silently skipped.
    static let unsupported: Set<String> = [
        "$ref", "$dynamicRef", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
        "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies",
        "unevaluatedProperties", "unevaluatedItems", "prefixItems", "additionalItems", "contains",
        "minContains", "maxContains", "uniqueItems", "multipleOf", "minProperties", "maxProperties",
    ]

    static func compile(_ schema: JSONValue, path: String) throws(SchemaError) -> SchemaNode {
        switch schema {
        case .bool(let b): return SchemaNode(acceptsNothing: !b)
        case .object(let o): return try SchemaNode(object: o, path: path)
        default:
            throw SchemaError(path: path, message: "a schema must be an object or a boolean, got \(schema.typeName)")
        }
    }

    private init(object o: [String: JSONValue], path: String) throws(SchemaError) {
        for key in o.keys.sorted() where Self.unsupported.contains(key) {
            throw SchemaError(path: JSONPath.member(path, key), message: "keyword \"\(key)\" is not supported by this schema subset")
        }
        acceptsNothing = false

        if let t = o["type"] {
            let at = JSONPath.member(path, "type")
            switch t {
            case .string(let name):
                types = [try Self.typeNamed(name, path: at)]
            case .array(let names):
                if names.isEmpty { throw SchemaError(path: at, message: "type array must not be empty") }
                var list: [SchemaType] = []
                for (i, n) in names.enumerated() {
                    guard case .string(let name) = n else {
                        throw SchemaError(path: JSONPath.index(at, i), message: "type name must be a string, got \(n.typeName)")
                    }
                    list.append(try Self.typeNamed(name, path: JSONPath.index(at, i)))
                }
                types = list
            default:
                throw SchemaError(path: at, message: "type must be a string or an array of strings, got \(t.typeName)")
            }
        } else {
            types = nil
        }

        var props: [(name: String, node: SchemaNode)] = []
        if let p = o["properties"] {
            let at = JSONPath.member(path, "properties")
            guard case .object(let members) = p else {
                throw SchemaError(path: at, message: "properties must be an object, got \(p.typeName)")
            }
            for name in members.keys.sorted() {
                if let sub = members[name] {
                    props.append((name, try Self.compile(sub, path: JSONPath.member(at, name))))
                }
            }
        }
        properties = props
        var index: [String: Int] = [:]
        for (i, p) in props.enumerated() { index[p.name] = i }
        propertyIndex = index

        if let r = o["required"] {
            let at = JSONPath.member(path, "required")
            guard case .array(let names) = r else {
                throw SchemaError(path: at, message: "required must be an array of strings, got \(r.typeName)")
            }
            var list: [String] = []
            for (i, n) in names.enumerated() {
                guard case .string(let name) = n else {
                    throw SchemaError(path: JSONPath.index(at, i), message: "required entry must be a string, got \(n.typeName)")
                }
                if !list.contains(name) { list.append(name) }
            }
            required = list
        } else {
            required = []
        }

        switch o["additionalProperties"] {
        case nil, .bool(true)?: additional = .allowed
        case .bool(false)?: additional = .forbidden
        case let sub?: additional = .schema(try Self.compile(sub, path: JSONPath.member(path, "additionalProperties")))
        }

        if let i = o["items"] {
            let at = JSONPath.member(path, "items")
            if case .array = i {
                throw SchemaError(path: at, message: "items must be a single schema (tuple form is not supported)")
            }
            items = try Self.compile(i, path: at)
        } else {
            items = nil
        }
        minItems = try Self.count(o, "minItems", path: path)
        maxItems = try Self.count(o, "maxItems", path: path)

        if let e = o["enum"] {
            guard case .array(let values) = e else {
                throw SchemaError(path: JSONPath.member(path, "enum"), message: "enum must be an array, got \(e.typeName)")
            }
            if values.isEmpty { throw SchemaError(path: JSONPath.member(path, "enum"), message: "enum must not be empty") }
            enumValues = values
        } else {
            enumValues = nil
        }
        constValue = o["const"]

        minimum = try Self.number(o, "minimum", path: path)
        maximum = try Self.number(o, "maximum", path: path)
        exclusiveMinimum = try Self.number(o, "exclusiveMinimum", path: path)
        exclusiveMaximum = try Self.number(o, "exclusiveMaximum", path: path)
        minLength = try Self.count(o, "minLength", path: path)
        maxLength = try Self.count(o, "maxLength", path: path)

        if let p = o["pattern"] {
            let at = JSONPath.member(path, "pattern")
            guard case .string(let source) = p else {
                throw SchemaError(path: at, message: "pattern must be a string, got \(p.typeName)")
            }
            do { pattern = try CompiledPattern(source) } catch {
                throw SchemaError(path: at, message: "pattern \"\(source)\" is not a valid regular expression")
            }
        } else {
            pattern = nil
        }
    }

    private static func typeNamed(_ name: String, path: String) throws(SchemaError) -> SchemaType {
        guard let t = SchemaType(rawValue: name) else {
            let known = SchemaType.allCases.map(\.rawValue).joined(separator: ", ")
            throw SchemaError(path: path, message: "unknown type \"\(name)\" (known: \(known))")
        }
        return t
    }

    private static func number(_ o: [String: JSONValue], _ key: String, path: String) throws(SchemaError) -> Double? {
        guard let v = o[key] else { return nil }
        guard case .number(let d) = v, d.isFinite else {
            throw SchemaError(path: JSONPath.member(path, key), message: "\(key) must be a number, got \(v.typeName)")
        }
        return d
    }

    private static func count(_ o: [String: JSONValue], _ key: String, path: String) throws(SchemaError) -> Int? {
        guard let v = o[key] else { return nil }
        guard let n = v.intValue, n >= 0 else {
            throw SchemaError(path: JSONPath.member(path, key), message: "\(key) must be a non-negative integer, got \(v)")
        }
        return n
    }

    // MARK: validation

    func validate(_ value: JSONValue, path: String, into out: inout [SchemaViolation]) {
        if acceptsNothing {
            out.append(SchemaViolation(path: path, message: "no value is allowed here (schema is false)"))
            return
        }
        if let types, !types.contains(where: { $0.admits(value) }) {
            let expected = types.map(\.rawValue).joined(separator: " or ")
            out.append(SchemaViolation(path: path, message: "expected \(expected), got \(Self.kind(of: value))"))
        }
        if let enumValues, !enumValues.contains(value) {
            let list = enumValues.map(\.jsonString).joined(separator: ", ")
            out.append(SchemaViolation(path: path, message: "\(value.jsonString) is not one of [\(list)]"))
        }
        if let constValue, constValue != value {
            out.append(SchemaViolation(path: path, message: "expected \(constValue.jsonString), got \(value.jsonString)"))
        }
        switch value {
        case .number(let d): validateNumber(d, path: path, into: &out)
        case .string(let s): validateString(s, path: path, into: &out)
        case .array(let a): validateArray(a, path: path, into: &out)
        case .object(let o): validateObject(o, path: path, into: &out)
        case .null, .bool: break
        }
    }

    private func validateNumber(_ d: Double, path: String, into out: inout [SchemaViolation]) {
        let shown = JSONValue.number(d).jsonString
        if let minimum, d < minimum {
            out.append(SchemaViolation(path: path, message: "\(shown) is less than minimum \(JSONValue.number(minimum).jsonString)"))
        }
        if let maximum, d > maximum {
            out.append(SchemaViolation(path: path, message: "\(shown) is greater than maximum \(JSONValue.number(maximum).jsonString)"))
        }
        if let exclusiveMinimum, d <= exclusiveMinimum {
            out.append(SchemaViolation(path: path, message: "\(shown) is not greater than exclusiveMinimum \(JSONValue.number(exclusiveMinimum).jsonString)"))
        }
        if let exclusiveMaximum, d >= exclusiveMaximum {
            out.append(SchemaViolation(path: path, message: "\(shown) is not less than exclusiveMaximum \(JSONValue.number(exclusiveMaximum).jsonString)"))
        }
    }

    private func validateString(_ s: String, path: String, into out: inout [SchemaViolation]) {
        if minLength != nil || maxLength != nil {
            // JSON Schema counts Unicode code points, not UTF-16 units or grapheme clusters.
            let length = s.unicodeScalars.count
            if let minLength, length < minLength {
                out.append(SchemaViolation(path: path, message: "string of \(length) characters is shorter than minLength \(minLength)"))
            }
            if let maxLength, length > maxLength {
                out.append(SchemaViolation(path: path, message: "string of \(length) characters is longer than maxLength \(maxLength)"))
            }
        }
        if let pattern, !pattern.matches(s) {
            out.append(SchemaViolation(path: path, message: "string does not match pattern \"\(pattern.source)\""))
        }
    }

    private func validateArray(_ a: [JSONValue], path: String, into out: inout [SchemaViolation]) {
        if let minItems, a.count < minItems {
            out.append(SchemaViolation(path: path, message: "array of \(a.count) items has fewer than minItems \(minItems)"))
        }
        if let maxItems, a.count > maxItems {
            out.append(SchemaViolation(path: path, message: "array of \(a.count) items has more than maxItems \(maxItems)"))
        }
        if let items {
            for (i, element) in a.enumerated() {
                items.validate(element, path: JSONPath.index(path, i), into: &out)
            }
        }
    }

    private func validateObject(_ o: [String: JSONValue], path: String, into out: inout [SchemaViolation]) {
        for name in required where o[name] == nil {
            out.append(SchemaViolation(path: JSONPath.member(path, name), message: "required property is missing"))
        }
        for (name, node) in properties {
            if let member = o[name] { node.validate(member, path: JSONPath.member(path, name), into: &out) }
        }
        switch additional {
        case .allowed:
            break
        case .forbidden:
            for name in o.keys.sorted() where propertyIndex[name] == nil {
                out.append(SchemaViolation(path: JSONPath.member(path, name), message: "property is not allowed (additionalProperties is false)"))
            }
        case .schema(let node):
            for name in o.keys.sorted() where propertyIndex[name] == nil {
                if let member = o[name] { node.validate(member, path: JSONPath.member(path, name), into: &out) }
            }
        }
    }

    /// "integer" for whole numbers, as in messages such as "expected string, got integer".
    private static func kind(of value: JSONValue) -> String { value.typeName }
}
