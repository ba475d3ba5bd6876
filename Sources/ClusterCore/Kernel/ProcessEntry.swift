import Foundation
import Synchronization

/// A registered agent with its handler built and its tool identity worked out once.
final class AgentEntry: Sendable {
    let definition: AgentDefinition
    let handler: any AgentHandler
    let toolCaller: ToolCaller

    init(definition: AgentDefinition, handler: any AgentHandler) {
        self.definition = definition
        self.handler = handler
        toolCaller = ToolCaller(agent: definition.name, processID: nil, permission: definition.permission,
                                allowedSideEffects: definition.allowedSideEffects, allowlist: definition.tools)
    }
}

/// The mutable part of a process, guarded by its entry's lock. Kept small: an idle process is this,
/// its entry and its table slot; the mailbox is made on the first message.
struct ProcessCore {
    var state: ProcessState = .created
    /// Whether a drain task delivers it is the mailbox's own flag (`Mailbox.claimConsumer`).
    var mailbox: Mailbox?
    var executions: [UInt64: ExecutionControl] = [:]
    var counters = ProcessCounters()
    var subscriptions: [String] = []
    /// Memory may hold keys for this process (so terminate must clear the namespace).
    var mayHaveMemory = false
}

/// Counts kept per process, carried in checkpoints and the journal.
public struct ProcessCounters: Sendable, Hashable, Codable {
    public var executions: Int = 0
    public var failedExecutions: Int = 0
    public var tokens: Int = 0
    public var cost: Double = 0
    public var messagesReceived: Int = 0
    public var messagesFailed: Int = 0

    public init() {}
}

/// One process: an id, its agent, and its lock-guarded core.
final class ProcessEntry: Sendable {
    let id: String
    let agent: AgentEntry
    let createdAt: Date
    let core: Mutex<ProcessCore>
    /// Mirrors `core.state == .running` (written under the lock), so a drain can check between
    /// deliveries without taking the lock the senders contend for.
    let isRunning: Atomic<Bool>

    init(id: String, agent: AgentEntry, createdAt: Date = Date(), core: ProcessCore = ProcessCore()) {
        self.id = id
        self.agent = agent
        self.createdAt = createdAt
        self.isRunning = Atomic(core.state == .running)
        self.core = Mutex(core)
    }

    /// Sets the state; call with the core lock held (inside `core.withLock`).
    func setState(_ state: ProcessState, in c: inout ProcessCore) {
        c.state = state
        isRunning.store(state == .running, ordering: .releasing)
    }

    func snapshot() -> ProcessSnapshot {
        core.withLock { c in
            ProcessSnapshot(id: id, agent: agent.definition.name, state: c.state, createdAt: createdAt,
                            mailboxDepth: c.mailbox?.count ?? 0, runningExecutions: c.executions.count,
                            counters: c.counters, subscriptions: c.subscriptions)
        }
    }
}

/// A process as seen from outside, at one moment.
public struct ProcessSnapshot: Sendable, Hashable {
    public var id: String
    public var agent: String
    public var state: ProcessState
    public var createdAt: Date
    /// Messages waiting in its mailbox.
    public var mailboxDepth: Int
    public var runningExecutions: Int
    public var counters: ProcessCounters
    /// Channels it is subscribed to.
    public var subscriptions: [String]
}
