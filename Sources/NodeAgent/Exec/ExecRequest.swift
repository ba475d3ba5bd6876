import ClusterCore

/// A request from the program that the node answers with a `reply`.
public enum ExecRequest: Sendable, Equatable {
    /// Read a key; the reply is the value or null. `namespace` nil is the process's own; the
    /// program names another with `namespace` (or `shared: true` for `shared`).
    case memoryGet(key: String, namespace: String?)
    /// Write a key; the reply is null.
    case memorySet(key: String, value: JSONValue, namespace: String?)
    /// Delete a key; the reply is whether it existed.
    case memoryDelete(key: String, namespace: String?)
    /// List keys with a prefix; the reply is an array of keys.
    case memoryList(prefix: String, namespace: String?)
    /// Add `by` to a number (missing = 0); the reply is the new value.
    case memoryIncr(key: String, by: Double, namespace: String?)
    /// Add members to a set (an OR-set in a replicated namespace); the reply is the members after.
    case memorySAdd(key: String, members: [JSONValue], namespace: String?)
    /// Remove members from a set; the reply is the members after.
    case memorySRem(key: String, members: [JSONValue], namespace: String?)
    /// A set's members; the reply is the array, or null when there is no set.
    case memorySMembers(key: String, namespace: String?)
    /// Call a registered tool; the reply is its output.
    case toolCall(name: String, arguments: JSONValue)
    /// Publish to a channel; the reply is null.
    case publish(channel: String, payload: JSONValue)
    /// Send a message to another process; the reply is null.
    case send(to: String, payload: JSONValue)

    /// The request type names, as they appear in the protocol's `type` field.
    public static let typeNames: Set<String> = [
        "memory.get", "memory.set", "memory.delete", "memory.list", "memory.incr", "memory.sadd", "memory.srem",
        "memory.smembers", "tool.call", "publish", "send",
    ]

    /// Parses a request message; the error names the missing or mistyped field.
    public static func parse(type: String, _ m: [String: JSONValue]) throws(ExecProtocolError) -> ExecRequest {
        func space() throws(ExecProtocolError) -> String? {
            if let raw = m["namespace"] {
                guard let name = raw.stringValue, !name.isEmpty else {
                    throw .wrongType("namespace", expected: "non-empty string", in: type)
                }
                return name
            }
            return m["shared"]?.boolValue == true ? MemoryBus.sharedNamespace : nil
        }
        switch type {
        case "memory.get": return .memoryGet(key: try string(m, "key", type), namespace: try space())
        case "memory.set":
            guard let value = m["value"] else { throw .missingField("value", in: type) }
            return .memorySet(key: try string(m, "key", type), value: value, namespace: try space())
        case "memory.delete": return .memoryDelete(key: try string(m, "key", type), namespace: try space())
        case "memory.list": return .memoryList(prefix: m["prefix"]?.stringValue ?? "", namespace: try space())
        case "memory.incr":
            var by = 1.0
            if let raw = m["by"] {
                guard let d = raw.doubleValue else { throw .wrongType("by", expected: "number", in: type) }
                by = d
            }
            return .memoryIncr(key: try string(m, "key", type), by: by, namespace: try space())
        case "memory.sadd", "memory.srem":
            guard let raw = m["members"] else { throw .missingField("members", in: type) }
            guard let members = raw.arrayValue else { throw .wrongType("members", expected: "array", in: type) }
            let key = try string(m, "key", type)
            return type == "memory.sadd" ? .memorySAdd(key: key, members: members, namespace: try space())
                : .memorySRem(key: key, members: members, namespace: try space())
        case "memory.smembers": return .memorySMembers(key: try string(m, "key", type), namespace: try space())
        case "tool.call": return .toolCall(name: try string(m, "name", type), arguments: m["arguments"] ?? .object([:]))
        case "publish": return .publish(channel: try string(m, "channel", type), payload: m["payload"] ?? .null)
        case "send": return .send(to: try string(m, "to", type), payload: m["payload"] ?? .null)
        default: throw .unknownType(type)
        }
    }

    private static func string(_ m: [String: JSONValue], _ field: String, _ type: String) throws(ExecProtocolError) -> String {
        guard let raw = m[field] else { throw .missingField(field, in: type) }
        guard let s = raw.stringValue, !s.isEmpty else { throw .wrongType(field, expected: "non-empty string", in: type) }
        return s
    }
}

/// A protocol violation by the program, naming the field at fault.
public enum ExecProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not JSON, or not a JSON object.
    case notAnObject(String)
    /// A required field is absent.
    case missingField(String, in: String)
    /// A field has the wrong type.
    case wrongType(String, expected: String, in: String)
    /// An unknown `type`.
    case unknownType(String)
    /// A line over the length limit.
    case lineTooLong(Int)

    public var description: String {
        switch self {
        case .notAnObject(let why): return "line is not a JSON object: \(why)"
        case .missingField(let f, let ctx): return "\(ctx): missing field '\(f)'"
        case .wrongType(let f, let expected, let ctx): return "\(ctx): field '\(f)' must be a \(expected)"
        case .unknownType(let t): return "unknown message type '\(t)'"
        case .lineTooLong(let n): return "line longer than \(n) bytes"
        }
    }
}
