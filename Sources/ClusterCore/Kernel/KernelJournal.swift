import Foundation

/// Where the kernel records what it acknowledged, so a node killed without warning comes back with
/// it: spawned processes and their state changes, and messages accepted into mailboxes.
///
/// Every call is awaited before the kernel call that caused it returns (for channel deliveries,
/// before `Kernel.publish` returns and before the message is handed to its handler). A message is
/// always appended before it can be consumed.
public protocol KernelJournal: Sendable {
    /// False for a journal that records nothing; the kernel then skips journaling entirely.
    var isEnabled: Bool { get }
    /// The process's current record (insert or replace).
    func processSaved(_ process: JournaledProcess) async throws
    /// The process is gone (terminated); its pending messages go with it.
    func processRemoved(_ id: String) async throws
    /// A message was accepted into the process's mailbox.
    func messageAppended(_ message: BrokerMessage, process: String) async throws
    /// The message left the mailbox (handled, or dead-lettered).
    func messageConsumed(_ messageID: UInt64, process: String) async throws
    /// Process ids up to this counter value may be in use: after a restart none of them is handed
    /// out again. The kernel reserves ids in blocks, so this is written once per block of spawns.
    func idsReserved(upTo counter: UInt64) async throws
    /// Everything recorded, for `Kernel.recover`.
    func load() async throws -> JournalContents
}

extension KernelJournal {
    public var isEnabled: Bool { true }
}

/// A process as the journal keeps it.
public struct JournaledProcess: Sendable, Hashable, Codable {
    public var id: String
    public var agent: AgentDefinition
    public var state: ProcessState
    public var createdAt: Date
    public var counters: ProcessCounters
    public var subscriptions: [String]

    public init(id: String, agent: AgentDefinition, state: ProcessState, createdAt: Date,
                counters: ProcessCounters = ProcessCounters(), subscriptions: [String] = []) {
        self.id = id
        self.agent = agent
        self.state = state
        self.createdAt = createdAt
        self.counters = counters
        self.subscriptions = subscriptions
    }
}

/// What a journal holds: processes, and each one's pending messages in the order they were accepted.
public struct JournalContents: Sendable, Hashable {
    public var processes: [JournaledProcess]
    public var mailboxes: [String: [BrokerMessage]]
    /// The highest `idsReserved` value recorded.
    public var reservedIDs: UInt64

    public init(processes: [JournaledProcess] = [], mailboxes: [String: [BrokerMessage]] = [:], reservedIDs: UInt64 = 0) {
        self.processes = processes
        self.mailboxes = mailboxes
        self.reservedIDs = reservedIDs
    }
}

/// The default: records nothing (a kernel without persistence).
public struct NoKernelJournal: KernelJournal {
    public init() {}
    public var isEnabled: Bool { false }
    public func processSaved(_ process: JournaledProcess) async throws {}
    public func processRemoved(_ id: String) async throws {}
    public func messageAppended(_ message: BrokerMessage, process: String) async throws {}
    public func messageConsumed(_ messageID: UInt64, process: String) async throws {}
    public func idsReserved(upTo counter: UInt64) async throws {}
    public func load() async throws -> JournalContents { JournalContents() }
}
