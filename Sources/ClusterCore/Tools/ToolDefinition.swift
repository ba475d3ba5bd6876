import Foundation

/// How often one agent may call one tool: at most `count` calls per `per`, refilled continuously
/// (a token bucket of `count` tokens gaining `count` tokens per `per`).
///
/// `Codable` as `{"count": n, "perMs": milliseconds}`.
public struct RateLimit: Sendable, Hashable, Codable {
    /// Calls allowed in a burst and per interval; must be at least 1.
    public var count: Int
    /// The interval; must be positive.
    public var per: Duration

    public init(count: Int, per: Duration) {
        self.count = count
        self.per = per
    }

    private enum CodingKeys: String, CodingKey { case count, perMs }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        count = try c.decode(Int.self, forKey: .count)
        let ms = try c.decode(Double.self, forKey: .perMs)
        // Bounded so `Duration.milliseconds` cannot trap (it does past ~1.7e23 ms).
        guard ms.isFinite, ms > 0, ms <= 9e12 else {
            throw DecodingError.dataCorruptedError(forKey: .perMs, in: c, debugDescription: "perMs must be a positive number of milliseconds up to 9e12, got \(ms)")
        }
        per = .milliseconds(ms)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        try c.encode(ContractsTime.milliseconds(per), forKey: .perMs)
    }
}

/// A tool agents can call through the `ToolRouter`: what it needs, what it does, and its code.
public struct ToolDefinition: Sendable {
    /// Unique name within a router.
    public var name: String
    /// What the tool does, for people and models choosing tools.
    public var description: String
    /// Schema the arguments must satisfy; nil accepts any arguments.
    public var inputSchema: JSONSchema?
    /// Schema the result must satisfy; nil accepts any result. A result breaking it fails the call.
    public var outputSchema: JSONSchema?
    /// Level the caller must be granted.
    public var permission: PermissionLevel
    /// The caller must be allowed each of them (`none`/`readOnly` are always allowed).
    public var sideEffects: Set<SideEffect>
    /// Per (tool, agent): at most `count` calls per `per`.
    public var rateLimit: RateLimit?
    /// Longest a call may run; past it the handler is cancelled and the call fails with `timedOut`.
    public var timeout: Duration?
    /// The tool's code: arguments in, result out.
    public var handler: @Sendable (JSONValue, ToolInvocation) async throws -> JSONValue

    public init(name: String, description: String = "", inputSchema: JSONSchema? = nil, outputSchema: JSONSchema? = nil,
                permission: PermissionLevel = .none, sideEffects: Set<SideEffect> = [], rateLimit: RateLimit? = nil,
                timeout: Duration? = nil,
                handler: @escaping @Sendable (JSONValue, ToolInvocation) async throws -> JSONValue) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.permission = permission
        self.sideEffects = sideEffects
        self.rateLimit = rateLimit
        self.timeout = timeout
        self.handler = handler
    }

    /// The definition without its code, as JSON (for listings and APIs).
    public var summary: JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(name), "description": .string(description),
            "permission": .string(permission.rawValue),
            "sideEffects": .array(sideEffects.map(\.rawValue).sorted().map(JSONValue.string)),
        ]
        if let inputSchema { o["inputSchema"] = inputSchema.source }
        if let outputSchema { o["outputSchema"] = outputSchema.source }
        if let rateLimit {
            o["rateLimit"] = ["count": .number(Double(rateLimit.count)), "perMs": .number(ContractsTime.milliseconds(rateLimit.per))]
        }
        if let timeout { o["timeoutMs"] = .number(ContractsTime.milliseconds(timeout)) }
        return .object(o)
    }
}
