/// The code behind an agent. One instance serves every process of an agent (the context names the
/// process), so a handler that keeps per-process state keys it by `context.processID` and sets it up
/// and tears it down in `start` and `stop`.
public protocol AgentHandler: Sendable {
    /// Runs one task. Throwing crashes the process.
    func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput
    /// Handles one mailbox message. Throwing is a failed delivery: the kernel retries the message
    /// and dead-letters it after the mailbox's `maxDeliveryAttempts`.
    func receive(_ message: BrokerMessage, context: ExecutionContext) async throws
    /// Called when a process starts (spawn, and recovery of a running process).
    func start(context: ExecutionContext) async throws
    /// Called when a process is terminated.
    func stop(context: ExecutionContext) async
}

extension AgentHandler {
    public func receive(_ message: BrokerMessage, context: ExecutionContext) async throws {}
    public func start(context: ExecutionContext) async throws {}
    public func stop(context: ExecutionContext) async {}
}

/// A unit of work for `Kernel.execute`.
public struct AgentTask: Sendable, Hashable, Codable {
    /// What to do; handlers may dispatch on it.
    public var name: String
    public var input: JSONValue

    public init(_ name: String = "default", input: JSONValue = .null) {
        self.name = name
        self.input = input
    }
}

/// What a handler returns from `execute`: the output, plus usage it did not report through
/// `ExecutionContext.reportUsage`.
public struct AgentOutput: Sendable, Hashable {
    public var value: JSONValue
    public var tokens: Int
    public var cost: Double

    public init(_ value: JSONValue, tokens: Int = 0, cost: Double = 0) {
        self.value = value
        self.tokens = tokens
        self.cost = cost
    }
}

/// What `Kernel.execute` returns.
public struct ExecutionResult: Sendable, Hashable {
    public var processID: String
    public var task: String
    public var output: JSONValue
    /// Wall time from the handler's start to its return.
    public var duration: Duration
    /// Tokens used by this execution (reported plus returned).
    public var tokens: Int
    public var cost: Double
}
