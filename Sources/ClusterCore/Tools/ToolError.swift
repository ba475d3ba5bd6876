/// Why a tool call or registration did not succeed.
public enum ToolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No tool has this name.
    case notFound(String)
    /// The tool is not on the agent's allowlist.
    case notAllowed(tool: String, agent: String)
    /// The agent's permission level is below the tool's.
    case permissionDenied(tool: String, required: PermissionLevel, granted: PermissionLevel)
    /// The tool has a side effect the agent is not allowed.
    case sideEffectDenied(tool: String, effect: SideEffect)
    /// The agent used up its calls of this tool; the next one is possible after `retryAfter`.
    case rateLimited(tool: String, agent: String, retryAfter: Duration)
    /// The arguments break the tool's input schema; every violation is listed.
    case invalidArguments(tool: String, violations: [SchemaViolation])
    /// The call ran past the tool's timeout and was cancelled.
    case timedOut(tool: String)
    /// The handler threw (or its result broke the output schema); `message` says what happened.
    case failed(tool: String, message: String)
    /// A tool with this name is already registered.
    case alreadyRegistered(String)
    /// A definition cannot be registered: empty name, non-positive rate limit or timeout.
    case invalidDefinition(tool: String, reason: String)

    /// A stable kebab-case code for events and APIs, e.g. `permission-denied`.
    public var code: String {
        switch self {
        case .notFound: return "not-found"
        case .notAllowed: return "not-allowed"
        case .permissionDenied: return "permission-denied"
        case .sideEffectDenied: return "side-effect-denied"
        case .rateLimited: return "rate-limited"
        case .invalidArguments: return "invalid-arguments"
        case .timedOut: return "timed-out"
        case .failed: return "failed"
        case .alreadyRegistered: return "already-registered"
        case .invalidDefinition: return "invalid-definition"
        }
    }

    public var description: String {
        switch self {
        case .notFound(let tool):
            return "no tool named \"\(tool)\""
        case .notAllowed(let tool, let agent):
            return "agent \"\(agent)\" may not call tool \"\(tool)\": it is not on the agent's allowlist"
        case .permissionDenied(let tool, let required, let granted):
            return "tool \"\(tool)\" needs permission \(required.rawValue), but the caller was granted \(granted.rawValue)"
        case .sideEffectDenied(let tool, let effect):
            return "tool \"\(tool)\" has side effect \(effect.rawValue), which the caller is not allowed"
        case .rateLimited(let tool, let agent, let retryAfter):
            let ms = ContractsTime.milliseconds(retryAfter).rounded(.up)
            return "agent \"\(agent)\" exceeded the rate limit of tool \"\(tool)\"; retry after \(JSONValue.number(ms).jsonString) ms"
        case .invalidArguments(let tool, let violations):
            return "invalid arguments for tool \"\(tool)\": " + violations.map(\.description).joined(separator: "; ")
        case .timedOut(let tool):
            return "tool \"\(tool)\" timed out"
        case .failed(let tool, let message):
            return "tool \"\(tool)\" failed: \(message)"
        case .alreadyRegistered(let tool):
            return "a tool named \"\(tool)\" is already registered"
        case .invalidDefinition(let tool, let reason):
            return "cannot register tool \"\(tool)\": \(reason)"
        }
    }
}
