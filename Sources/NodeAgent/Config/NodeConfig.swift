import ClusterCore

/// agentvm.yml as plain values: what the node is told to run. The node maps these onto kernel
/// types (`AgentDefinition`, `ChannelConfig`, ...); this model depends on none of them.
/// Defaults are those documented in docs/config.md.
public struct NodeConfig: Sendable, Hashable {
    /// Kernel instance name.
    public var name: String = "agentvm"
    /// Verbose kernel logging (kept from the original AgentVM).
    public var debug: Bool = false
    /// Most live processes on this node.
    public var maxProcesses: Int = 10_000
    public var memory = Memory()
    /// Agent definitions in file order.
    public var agents: [Agent] = []
    /// Built-in tools to enable.
    public var tools: [String] = []
    /// Channels to create at start, in file order.
    public var channels: [Channel] = []
    /// Variables for `${VAR}` substitution, also given to exec agents' environment.
    public var env: [String: String] = [:]
    public var node = Node()
    /// Present when the node joins a cluster (`cluster:` in the file, or `AGENTVM_NATS`).
    public var cluster: Cluster?
    /// The file this was loaded from.
    public var file: String = ""
    /// The file's directory: relative paths in it were resolved against this, and exec agents'
    /// commands run from here. nil when parsed from text without one.
    public var baseDirectory: String?

    public init() {}

    /// The agent named `name`, if defined.
    public func agent(named name: String) -> Agent? { agents.first { $0.name == name } }
    /// The channel named `name`, if defined.
    public func channel(named name: String) -> Channel? { channels.first { $0.name == name } }

    public enum MemoryBackend: String, Sendable, Hashable, CaseIterable { case memory, sqlite }

    /// `memory:`: where memory lives.
    public struct Memory: Sendable, Hashable {
        public var backend: MemoryBackend = .sqlite
        /// SQLite file; nil means `<node.data>/memory.sqlite`.
        public var path: String?
        /// Namespaces replicated across the cluster besides `shared` (which always is), in file
        /// order. Ignored by an embedded node.
        public var replicated: [String] = []
        public init() {}
    }

    /// Permission levels, lowest first; the kernel's `PermissionLevel` has the same raw values.
    public enum PermissionLevel: String, Sendable, Hashable, CaseIterable { case none, read, write, execute, admin }
    /// Side effects an agent may cause; the kernel's `SideEffect` has the same raw values.
    public enum SideEffect: String, Sendable, Hashable, CaseIterable {
        case none, readOnly = "read-only", writesMemory = "writes-memory", filesystem, network, process
    }
    public enum RestartPolicy: String, Sendable, Hashable, CaseIterable { case never, onFailure = "on-failure", always }
    public enum ChannelType: String, Sendable, Hashable, CaseIterable { case pubsub, direct, queue }
    public enum LogLevel: String, Sendable, Hashable, CaseIterable { case trace, debug, info, notice, warning, error, critical }

    /// `agents.NAME:`: one agent definition.
    public struct Agent: Sendable, Hashable {
        public var name: String
        public var description: String = ""
        /// Handler name: `echo`, `counter`, `exec` or any registered name.
        public var handler: String
        /// argv for the `exec` handler (never run through a shell).
        public var command: [String]?
        /// Tool allowlist; nil = every enabled tool, empty = none.
        public var tools: [String]?
        public var permissions = Permissions()
        public var contract: Contract?
        public var limits = Limits()
        public var persistentMemory: Bool = false
        /// Processes to spawn at start.
        public var replicas: Int = 0
        public var restart = Restart()
        /// `exec.maxInFlightRequests`: most requests an exec program may have in flight; nil = the exec default.
        public var execMaxInFlightRequests: Int?
        /// Free JSON handed to the handler.
        public var config: JSONValue = .object([:])
        public var capabilities: [String] = []

        public init(name: String, handler: String) {
            self.name = name
            self.handler = handler
        }
    }

    /// `permissions:`: what the agent may do with tools.
    public struct Permissions: Sendable, Hashable {
        public var level: PermissionLevel = .read
        public var sideEffects: [SideEffect] = [.readOnly]
        public init() {}
    }

    /// `contract:`: JSON-schema objects (as written) and service levels.
    public struct Contract: Sendable, Hashable {
        public var input: JSONValue?
        public var output: JSONValue?
        public var maxLatency: Duration?
        public var maxCost: Double?
        public init() {}
    }

    /// `limits:`; nil means no limit (or, for `maxConcurrent`, the kernel's default).
    public struct Limits: Sendable, Hashable {
        public var timeout: Duration?
        public var tokenBudget: Int?
        public var maxConcurrent: Int?
        public init() {}
    }

    /// `restart:`: what happens when a process crashes (exec agents dying included).
    public struct Restart: Sendable, Hashable {
        public var policy: RestartPolicy = .onFailure
        public var maxRestarts: Int = 3
        public init() {}
    }

    /// `channels.NAME:`.
    public struct Channel: Sendable, Hashable {
        public var name: String
        public var type: ChannelType = .pubsub
        public var historyLimit: Int = 100
        public var maxDeliveryAttempts: Int = 3
        /// JSON schema (as written) every published payload must match.
        public var schema: JSONValue?
        public init(name: String) { self.name = name }
    }

    /// `node:`: this process's own settings.
    public struct Node: Sendable, Hashable {
        /// Stable node id; nil lets the node derive one and keep it under `data`.
        public var id: String?
        /// HTTP API address, `host:port`.
        public var listen: String = "127.0.0.1:7070"
        /// Listening on a non-loopback address is refused unless this is true: the API can spawn
        /// programs, so exposing it must be a deliberate choice (with a `token`).
        public var allowRemote: Bool = false
        /// State directory (SQLite, checkpoints).
        public var data: String = ".agentvm"
        /// Bearer token the HTTP API requires; nil = none.
        public var token: String?
        public var logLevel: LogLevel = .info
        /// How long running executions may finish after SIGINT/SIGTERM.
        public var shutdownGrace: Duration = .seconds(10)
        public init() {}
    }

    /// `cluster:`: joining other nodes over NATS.
    public struct Cluster: Sendable, Hashable {
        /// Namespaces every subject, so clusters can share a NATS server.
        public var name: String = "default"
        public var nats: [String] = ["nats://127.0.0.1:4222"]
        public var user: String?
        public var password: String?
        public var token: String?
        /// A `.creds` file (JWT + nkey seed).
        public var credentials: String?
        public var gossip = Gossip()
        public init() {}
    }

    /// `cluster.gossip:`; nil leaves the Gossip module's documented default.
    public struct Gossip: Sendable, Hashable {
        /// Time between gossip rounds.
        public var interval: Duration?
        /// Peers gossiped to per round.
        public var fanout: Int?
        /// Suspicion timeout bounds (Lifeguard: shrinks from max toward min as others confirm).
        public var suspicionMin: Duration?
        public var suspicionMax: Duration?
        /// Lifeguard local-health multiplier ceiling.
        public var localHealthMax: Int?
        /// How long a dead or left member stays listed before removal.
        public var removeAfter: Duration?
        public init() {}
    }
}
