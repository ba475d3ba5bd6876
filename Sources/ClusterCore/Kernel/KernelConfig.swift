/// Kernel-wide settings.
public struct KernelConfig: Sendable, Hashable {
    /// Prefix of every process id this kernel makes; unique per node in a cluster. Keep it short
    /// (ids up to 15 bytes are stored inline, without a heap allocation).
    public var nodeID: String
    /// Processes that may exist at once (terminated ones excluded).
    public var maxProcesses: Int
    /// Timeout for executions whose agent sets none; nil = none.
    public var defaultExecutionTimeout: Duration?
    /// Messages a process's mailbox holds before `send` is refused.
    public var mailboxCapacity: Int
    /// Failed deliveries of one mailbox message before it is dead-lettered.
    public var maxDeliveryAttempts: Int
    /// Terminated processes remembered (so `terminate` stays idempotent and they can be inspected).
    public var terminatedRetention: Int
    /// Take a checkpoint into the checkpoint store when a process crashes.
    public var checkpointOnCrash: Bool

    public init(nodeID: String = KernelConfig.randomNodeID(), maxProcesses: Int = 10_000,
                defaultExecutionTimeout: Duration? = nil, mailboxCapacity: Int = 10_000,
                maxDeliveryAttempts: Int = 3, terminatedRetention: Int = 1_000, checkpointOnCrash: Bool = true) {
        self.nodeID = nodeID
        self.maxProcesses = maxProcesses
        self.defaultExecutionTimeout = defaultExecutionTimeout
        self.mailboxCapacity = mailboxCapacity
        self.maxDeliveryAttempts = maxDeliveryAttempts
        self.terminatedRetention = terminatedRetention
        self.checkpointOnCrash = checkpointOnCrash
    }

    /// Four random base-36 characters: enough to tell apart the nodes of a cluster that set none.
    public static func randomNodeID() -> String {
        String(UInt32.random(in: 46_656..<1_679_616), radix: 36)
    }
}
