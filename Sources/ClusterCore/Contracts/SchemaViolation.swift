/// One way a JSON value fails a `JSONSchema`: where, and what is wrong there.
public struct SchemaViolation: Sendable, Hashable, CustomStringConvertible {
    /// Where in the value, JSON-path style: `$` is the value itself, `$.items[2].name` a nested member.
    public let path: String
    /// What is wrong, in plain words, e.g. "expected string, got number".
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// A schema document that cannot be compiled: an unknown type name, a non-integer `minLength`, a bad
/// `pattern`… `path` points into the schema document (`$.properties.age.minimum`).
public struct SchemaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the schema document the problem is.
    public let path: String
    /// What is wrong there.
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "invalid schema at \(path): \(message)" }
}

/// Builds JSON paths so that value paths and schema paths read the same way.
enum JSONPath {
    /// `base.key`, or `base["key"]` when the key is not a plain identifier.
    static func member(_ base: String, _ key: String) -> String {
        if isIdentifier(key) { return base + "." + key }
        var escaped = ""
        for ch in key.unicodeScalars {
            switch ch {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(ch)
            }
        }
        return base + "[\"" + escaped + "\"]"
    }

    /// `base[index]`.
    static func index(_ base: String, _ index: Int) -> String { base + "[" + String(index) + "]" }

    private static func isIdentifier(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first else { return false }
        guard first == "_" || first == "$" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return key.unicodeScalars.allSatisfy {
            $0 == "_" || $0 == "$" || $0 == "-" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
        }
    }
}
