import Foundation

/// What an agent is: its name, the code that runs it (a handler name bound in a `HandlerRegistry`),
/// what it may do (tools, permission, side effects), its contract and its limits.
///
/// Codable so that a definition can come from a config file: only `name` and `handler` are required
/// when decoding; every other field has the default of `init`.
public struct AgentDefinition: Sendable, Codable, Hashable {
    /// Unique agent name; processes are spawned by it.
    public var name: String
    public var description: String
    /// Free-form settings for the handler (the `counter` handler reads `key`, for example).
    public var config: JSONValue
    /// Declared capabilities, for discovery and placement; the kernel does not interpret them.
    public var capabilities: [String]
    /// Name of the handler in the kernel's `HandlerRegistry`.
    public var handler: String
    /// Tools this agent may call: nil = every tool, empty = none.
    public var tools: Set<String>?
    /// Permission level granted to the agent's tool calls.
    public var permission: PermissionLevel
    /// Side effects the agent's tool calls may have.
    public var allowedSideEffects: Set<SideEffect>
    /// Input/output schemas and SLA; nil = none.
    public var contract: AgentContract?
    /// When true, a process's memory namespace survives its termination.
    public var persistentMemory: Bool
    public var limits: AgentLimits

    public init(name: String, handler: String, description: String = "", config: JSONValue = .null,
                capabilities: [String] = [], tools: Set<String>? = nil, permission: PermissionLevel = .read,
                allowedSideEffects: Set<SideEffect> = [.none, .readOnly], contract: AgentContract? = nil,
                persistentMemory: Bool = false, limits: AgentLimits = AgentLimits()) {
        self.name = name
        self.description = description
        self.config = config
        self.capabilities = capabilities
        self.handler = handler
        self.tools = tools
        self.permission = permission
        self.allowedSideEffects = allowedSideEffects
        self.contract = contract
        self.persistentMemory = persistentMemory
        self.limits = limits
    }

    private enum CodingKeys: String, CodingKey {
        case name, description, config, capabilities, handler, tools, permission, allowedSideEffects
        case contract, persistentMemory, limits
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = AgentDefinition(name: "", handler: "")
        name = try c.decode(String.self, forKey: .name)
        handler = try c.decode(String.self, forKey: .handler)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? defaults.description
        config = try c.decodeIfPresent(JSONValue.self, forKey: .config) ?? defaults.config
        capabilities = try c.decodeIfPresent([String].self, forKey: .capabilities) ?? defaults.capabilities
        tools = try c.decodeIfPresent(Set<String>.self, forKey: .tools)
        permission = try c.decodeIfPresent(PermissionLevel.self, forKey: .permission) ?? defaults.permission
        allowedSideEffects = try c.decodeIfPresent(Set<SideEffect>.self, forKey: .allowedSideEffects)
            ?? defaults.allowedSideEffects
        contract = try c.decodeIfPresent(AgentContract.self, forKey: .contract)
        persistentMemory = try c.decodeIfPresent(Bool.self, forKey: .persistentMemory) ?? defaults.persistentMemory
        limits = try c.decodeIfPresent(AgentLimits.self, forKey: .limits) ?? defaults.limits
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(handler, forKey: .handler)
        try c.encode(description, forKey: .description)
        try c.encode(config, forKey: .config)
        try c.encode(capabilities, forKey: .capabilities)
        try c.encodeIfPresent(tools.map { $0.sorted() }, forKey: .tools)
        try c.encode(permission, forKey: .permission)
        try c.encode(allowedSideEffects.map(\.rawValue).sorted(), forKey: .allowedSideEffects)
        try c.encodeIfPresent(contract, forKey: .contract)
        try c.encode(persistentMemory, forKey: .persistentMemory)
        try c.encode(limits, forKey: .limits)
    }
}

/// Per-agent limits the kernel enforces on each of its processes.
public struct AgentLimits: Sendable, Codable, Hashable {
    /// An execution running longer is cancelled and fails with `KernelError.timedOut`; nil = the
    /// kernel's `defaultExecutionTimeout`.
    public var executionTimeout: Duration?
    /// Tokens a process may use over its life (reported through `ExecutionContext.reportUsage`);
    /// nil = unlimited.
    public var tokenBudget: Int?
    /// Executions of one process that may run at once.
    public var maxConcurrentExecutions: Int

    public init(executionTimeout: Duration? = nil, tokenBudget: Int? = nil, maxConcurrentExecutions: Int = 1) {
        self.executionTimeout = executionTimeout
        self.tokenBudget = tokenBudget
        self.maxConcurrentExecutions = maxConcurrentExecutions
    }

    private enum CodingKeys: String, CodingKey { case executionTimeout, tokenBudget, maxConcurrentExecutions }

    // The timeout is written as seconds (a JSON number), so config files stay readable.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let seconds = try c.decodeIfPresent(Double.self, forKey: .executionTimeout) {
            // 9e9 s (~285 years) keeps the milliseconds inside Int64 and Duration.
            guard seconds.isFinite, seconds > 0, seconds <= 9e9 else {
                throw DecodingError.dataCorruptedError(forKey: .executionTimeout, in: c,
                    debugDescription: "executionTimeout must be a positive number of seconds up to 9e9, got \(seconds)")
            }
            executionTimeout = .milliseconds(Int64((seconds * 1000).rounded()))
        }
        tokenBudget = try c.decodeIfPresent(Int.self, forKey: .tokenBudget)
        maxConcurrentExecutions = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentExecutions) ?? 1
        guard maxConcurrentExecutions >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .maxConcurrentExecutions, in: c,
                debugDescription: "maxConcurrentExecutions must be at least 1, got \(maxConcurrentExecutions)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(executionTimeout.map(\.seconds), forKey: .executionTimeout)
        try c.encodeIfPresent(tokenBudget, forKey: .tokenBudget)
        try c.encode(maxConcurrentExecutions, forKey: .maxConcurrentExecutions)
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
