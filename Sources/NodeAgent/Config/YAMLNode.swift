import ClusterCore

/// A position in a YAML source, 1-based, as editors show it.
public struct Mark: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    /// Where the text came from when it is not the file itself (an `AGENTVM_*` variable).
    public var source: String?

    public init(line: Int, column: Int, source: String? = nil) {
        self.line = line
        self.column = column
        self.source = source
    }

    public var description: String { "\(line):\(column)" }
}

/// How a scalar was written; decides whether `12` is a number or a string.
public enum YAMLScalarStyle: Sendable, Hashable {
    case plain, singleQuoted, doubleQuoted, literal, folded

    /// Quoted and block scalars are always strings under the core schema.
    public var isPlain: Bool { self == .plain }
}

/// A scalar as written: its text, style and explicit tag (nil when untagged).
public struct YAMLScalar: Sendable, Hashable {
    public var value: String
    public var style: YAMLScalarStyle
    public var tag: String?

    public init(_ value: String, style: YAMLScalarStyle = .plain, tag: String? = nil) {
        self.value = value
        self.style = style
        self.tag = tag
    }
}

/// One `key: value` of a mapping, in source order. Keys are scalars.
public struct YAMLEntry: Sendable, Hashable {
    public var key: String
    public var keyMark: Mark
    public var value: YAMLNode

    public init(key: String, keyMark: Mark, value: YAMLNode) {
        self.key = key
        self.keyMark = keyMark
        self.value = value
    }
}

/// A YAML document node with its source position. Aliases are already resolved.
public struct YAMLNode: Sendable, Hashable {
    public enum Content: Sendable, Hashable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        case mapping([YAMLEntry])
    }

    public var content: Content
    public var mark: Mark

    public init(_ content: Content, mark: Mark) {
        self.content = content
        self.mark = mark
    }

    public var scalar: YAMLScalar? { if case .scalar(let s) = content { return s } else { return nil } }
    public var sequence: [YAMLNode]? { if case .sequence(let s) = content { return s } else { return nil } }
    public var entries: [YAMLEntry]? { if case .mapping(let m) = content { return m } else { return nil } }

    /// The value under `key` when this is a mapping.
    public subscript(key: String) -> YAMLNode? { entries?.first { $0.key == key }?.value }

    /// A short name of the node's kind for error messages ("a mapping", "a list", "'abc'").
    public var kindDescription: String {
        switch content {
        case .scalar(let s):
            if s.style.isPlain, s.tag == nil, let v = try? YAMLCoreSchema.resolve(s, at: mark) {
                switch v {
                case .null: return "null"
                case .bool: return "a boolean"
                case .number: return "a number"
                default: break
                }
            }
            return "a string"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    /// The node as JSON, resolving scalars by the YAML 1.2 core schema.
    public func toJSON() throws(YAMLError) -> JSONValue {
        switch content {
        case .scalar(let s):
            return try YAMLCoreSchema.resolve(s, at: mark)
        case .sequence(let items):
            var out: [JSONValue] = []
            out.reserveCapacity(items.count)
            for item in items { out.append(try item.toJSON()) }
            return .array(out)
        case .mapping(let entries):
            var out: [String: JSONValue] = [:]
            for e in entries { out[e.key] = try e.value.toJSON() }
            return .object(out)
        }
    }
}
