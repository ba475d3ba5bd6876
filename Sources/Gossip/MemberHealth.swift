/// What a member reports about itself in every heartbeat. Placement and dashboards read it.
public struct MemberHealth: Sendable, Codable, Hashable {
    /// Processes running on the node.
    public var processCount: Int
    /// Messages waiting in the node's queues.
    public var queueDepth: Int
    /// CPU use in cores (1.0 = one core busy). Non-finite values are stored as 0.
    public var cpu: Double
    /// Resident memory in bytes.
    public var memoryBytes: UInt64
    /// The agentvm version the node runs.
    public var version: String
    /// Where the node's HTTP API listens, e.g. `http://10.0.0.5:7070`; empty when it has none.
    public var apiAddress: String
    /// Free-form labels, e.g. `zone=a`, used by placement.
    public var labels: [String: String]

    public init(processCount: Int = 0, queueDepth: Int = 0, cpu: Double = 0, memoryBytes: UInt64 = 0,
                version: String = "", apiAddress: String = "", labels: [String: String] = [:]) {
        self.processCount = processCount
        self.queueDepth = queueDepth
        self.cpu = cpu.isFinite ? cpu : 0
        self.memoryBytes = memoryBytes
        self.version = version
        self.apiAddress = apiAddress
        self.labels = labels
    }
}
