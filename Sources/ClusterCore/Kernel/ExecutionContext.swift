import Foundation

/// What a handler sees while it runs a task, a message or a start/stop hook: its process, agent and
/// input, memory scoped to the process plus the shared namespace, tools, messaging, events, usage
/// reporting and cancellation.
public struct ExecutionContext: Sendable {
    let kernel: Kernel
    let process: ProcessEntry
    let control: ExecutionControl?
    /// The task being executed; nil in `receive`, `start` and `stop`.
    public let task: AgentTask?

    init(kernel: Kernel, process: ProcessEntry, control: ExecutionControl? = nil, task: AgentTask? = nil) {
        self.kernel = kernel
        self.process = process
        self.control = control
        self.task = task
    }

    public var processID: String { process.id }
    public var agent: AgentDefinition { process.agent.definition }
    /// The task's input; `null` outside `execute`.
    public var input: JSONValue { task?.input ?? .null }
    /// The process's own memory namespace (named by the process id).
    public var memory: ProcessMemory { ProcessMemory(bus: kernel.memory, namespace: process.id, owner: process) }
    /// The namespace every process shares.
    public var shared: ProcessMemory {
        ProcessMemory(bus: kernel.memory, namespace: MemoryBus.sharedNamespace, owner: nil)
    }

    /// A namespace by name: the process's own (its id, same as `memory`), `shared`, or a common
    /// one (the node's `memory.replicated` list). Other processes' namespaces are closed.
    public func namespace(_ name: String) throws -> ProcessMemory {
        if name == process.id { return memory }
        guard kernel.memory.isCommon(name) else { throw MemoryError.namespaceClosed(name) }
        return ProcessMemory(bus: kernel.memory, namespace: name, owner: nil)
    }

    /// Calls a tool as this agent (its allowlist, permission and side effects apply).
    public func callTool(_ name: String, arguments: JSONValue = .object([:])) async throws -> JSONValue {
        var caller = process.agent.toolCaller
        caller.processID = process.id
        return try await kernel.tools.invoke(name, arguments: arguments, caller: caller)
    }

    /// Publishes on a channel, from this process.
    @discardableResult
    public func publish(_ channel: String, _ payload: JSONValue, priority: Int = 0) async throws -> BrokerMessage {
        try await kernel.publish(channel, from: process.id, payload: payload, priority: priority)
    }

    /// Sends to another process's mailbox, from this process.
    @discardableResult
    public func send(to processID: String, _ payload: JSONValue, priority: Int = 0) async throws -> BrokerMessage {
        try await kernel.deliverDirect(to: processID, from: process.id, payload: payload, priority: priority, ttl: nil)
    }

    /// Emits an event whose source is this process.
    public func emit(_ type: String, _ data: @autoclosure () -> JSONValue = .null) {
        kernel.events.emit(type, source: process.id, data: data())
    }

    /// Adds usage to this execution and the process. Throws, and cancels the execution, once the
    /// process's token budget is exceeded.
    public func reportUsage(tokens: Int, cost: Double = 0) throws {
        try kernel.recordUsage(process, control: control, tokens: tokens, cost: cost)
    }

    /// Whether this work was cancelled (terminate, timeout, budget, or the caller went away).
    public var isCancelled: Bool { Task.isCancelled || (control?.isFinished ?? false) }

    /// Throws `CancellationError` when `isCancelled`.
    public func checkCancellation() throws {
        if isCancelled { throw CancellationError() }
    }
}

/// Memory operations bound to one namespace.
public struct ProcessMemory: Sendable {
    public let bus: MemoryBus
    public let namespace: String
    let owner: ProcessEntry?

    private func touch() {
        owner?.core.withLock { $0.mayHaveMemory = true }
    }

    public func get(_ key: String) throws -> JSONValue? { try bus.get(namespace, key) }
    public func entry(_ key: String) throws -> MemoryEntry? { try bus.entry(namespace, key) }
    public func list(prefix: String = "") throws -> [MemoryRecord] { try bus.list(namespace, prefix: prefix) }

    public func set(_ key: String, _ value: JSONValue, ttl: Duration? = nil) async throws {
        touch()
        try await bus.set(namespace, key, value, ttl: ttl)
    }

    @discardableResult
    public func delete(_ key: String) async throws -> Bool { try await bus.delete(namespace, key) }

    public func clear() async throws { try await bus.clear(namespace) }

    public func increment(_ key: String, by: Double = 1) async throws -> Double {
        touch()
        return try await bus.increment(namespace, key, by: by)
    }

    public func compareAndSet(_ key: String, expected: JSONValue?, new: JSONValue, ttl: Duration? = nil) async throws -> Bool {
        touch()
        return try await bus.compareAndSet(namespace, key, expected: expected, new: new, ttl: ttl)
    }

    /// Adds to the set under `key` (an OR-set in a replicated namespace); returns the members after.
    @discardableResult
    public func add(_ key: String, _ elements: [JSONValue]) async throws -> [JSONValue] {
        touch()
        return try await bus.addMembers(namespace, key, elements)
    }

    /// Removes from the set under `key`; returns the members after.
    @discardableResult
    public func remove(_ key: String, _ elements: [JSONValue]) async throws -> [JSONValue] {
        try await bus.removeMembers(namespace, key, elements)
    }

    /// The members of the set under `key`; nil when there is no set.
    public func members(_ key: String) throws -> [JSONValue]? { try bus.members(namespace, key) }
}
