/// Returns its input unchanged; messages are accepted and ignored. For demos and tests.
public struct EchoHandler: AgentHandler {
    public init() {}

    public func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
        AgentOutput(task.input)
    }
}

/// Increments a key in the process's memory on every task and every message, and returns the
/// count. The key is the agent config's `key` (default `count`); a task's input `{"by": N}` adds N.
public struct CounterHandler: AgentHandler {
    public let key: String

    public init(definition: AgentDefinition) {
        key = definition.config["key"]?.stringValue ?? "count"
    }

    public func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
        let by = task.input["by"]?.doubleValue ?? 1
        let count = try await context.memory.increment(key, by: by)
        return AgentOutput(["count": .number(count)])
    }

    public func receive(_ message: BrokerMessage, context: ExecutionContext) async throws {
        _ = try await context.memory.increment(key, by: 1)
    }
}
