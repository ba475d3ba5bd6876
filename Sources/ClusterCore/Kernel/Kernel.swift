import Foundation
import Synchronization

/// The local kernel: registers agents, spawns and runs their processes, delivers their messages,
/// checkpoints and restores them, and accounts for all of it.
///
/// State lives in locks, not actors: the process table under one lock, each process's state under
/// its own. An idle process costs its table slot and a small object; no task runs for it. A task
/// runs only while a process executes something or has mail to deliver.
public final class Kernel: Sendable {
    public let config: KernelConfig
    public let events: EventBus
    public let memory: MemoryBus
    public let broker: MessageBroker
    public let tools: ToolRouter
    public let handlers: HandlerRegistry
    public let journal: any KernelJournal
    public let checkpoints: any CheckpointStore

    let journalEnabled: Bool
    let ids: ProcessIDGenerator
    let agentTable = Mutex<[String: AgentEntry]>([:])
    let table = Mutex(ProcessTable())
    /// The process (and mailbox) the last `send` went to (see `enqueueDirect`).
    let lastSendTarget = Mutex<SendTarget?>(nil)
    let executionIDs = Atomic<UInt64>(0)
    /// Id counter values up to this one are recorded as reserved in the journal.
    let reservedIDs = Atomic<UInt64>(0)
    static let idReservationBlock: UInt64 = 4096
    /// Counters of processes that are gone, so totals survive them.
    let retired = Mutex(ProcessCounters())
    /// Channel deliveries waiting to be journaled before they enter a mailbox (journal enabled only).
    let pendingDeliveries = Mutex<[(ProcessEntry, BrokerMessage)]>([])
    let deliveryGate = AsyncGate()
    /// False once `shutdown` began: spawn, execute and send are refused.
    let accepting = Atomic<Bool>(true)

    /// A kernel over the given parts; any left out is made fresh (in-memory memory, a new broker
    /// and tool router on the same event bus). `handlers` defaults to the built-ins.
    public init(config: KernelConfig = KernelConfig(), events: EventBus = EventBus(), memory: MemoryBus? = nil,
                broker: MessageBroker? = nil, tools: ToolRouter? = nil,
                handlers: HandlerRegistry = .withBuiltIns(), journal: any KernelJournal = NoKernelJournal(),
                checkpoints: any CheckpointStore = InMemoryCheckpointStore()) {
        self.config = config
        self.events = events
        self.memory = memory ?? MemoryBus(backend: InMemoryBackend(), events: events)
        self.broker = broker ?? MessageBroker(events: events)
        self.tools = tools ?? ToolRouter(events: events)
        self.handlers = handlers
        self.journal = journal
        self.journalEnabled = journal.isEnabled
        self.checkpoints = checkpoints
        self.ids = ProcessIDGenerator(nodeID: config.nodeID)
    }

    // MARK: Agents

    /// Registers an agent, building its handler from the handler registry. Registering the same
    /// definition again is a no-op; a different one under a taken name needs `replace: true`
    /// (running processes keep the definition they were spawned with).
    public func register(_ definition: AgentDefinition, replace: Bool = false) throws(KernelError) {
        guard !definition.name.isEmpty else { throw .invalidAgent(agent: "", reason: "name is empty") }
        if definition.limits.maxConcurrentExecutions < 1 {
            throw .invalidAgent(agent: definition.name, reason: "limits.maxConcurrentExecutions must be at least 1")
        }
        if let b = definition.limits.tokenBudget, b < 0 {
            throw .invalidAgent(agent: definition.name, reason: "limits.tokenBudget must not be negative")
        }
        if let existing = agentTable.withLock({ $0[definition.name] }) {
            if existing.definition == definition { return }
            if !replace { throw .agentExists(definition.name) }
        }
        let entry = AgentEntry(definition: definition, handler: try handlers.makeHandler(for: definition))
        agentTable.withLock { $0[definition.name] = entry }
        events.emit("agent.registered", source: "kernel", data: ["agent": .string(definition.name)])
    }

    /// Removes an agent; its processes keep running.
    public func unregister(_ name: String) {
        let removed = agentTable.withLock { $0.removeValue(forKey: name) }
        if removed != nil { events.emit("agent.unregistered", source: "kernel", data: ["agent": .string(name)]) }
    }

    public func agent(named name: String) -> AgentDefinition? { agentTable.withLock { $0[name]?.definition } }

    /// Every registered agent, by name.
    public var agents: [AgentDefinition] {
        agentTable.withLock { $0.values.map(\.definition) }.sorted { $0.name < $1.name }
    }

    // MARK: Lookup

    /// A process as it is now (live, crashed, or recently terminated).
    public func process(_ id: String) -> ProcessSnapshot? {
        if let e = table.withLock({ $0.live[id] }) { return e.snapshot() }
        return table.withLock { $0.terminated[id] }
    }

    /// Live and crashed processes (terminated ones are left out), optionally of one agent or state.
    public func processes(agent: String? = nil, state: ProcessState? = nil) -> [ProcessSnapshot] {
        let entries = table.withLock { Array($0.live.values) }
        return entries.lazy
            .filter { agent == nil || $0.agent.definition.name == agent }
            .map { $0.snapshot() }
            .filter { state == nil || $0.state == state }
            .sorted { $0.createdAt < $1.createdAt }
    }

    func checkAcceptingWork() throws(KernelError) {
        guard accepting.load(ordering: .relaxed) else { throw .shuttingDown }
    }

    func liveEntry(_ id: String) throws(KernelError) -> ProcessEntry {
        guard let e = table.withLock({ $0.live[id] }) else { throw .processNotFound(id) }
        return e
    }
}
