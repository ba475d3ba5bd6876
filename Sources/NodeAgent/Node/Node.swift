import ClusterCore
import Foundation
import Synchronization

/// One node: a kernel built from a `NodeConfig`, persisted under the data directory, served over
/// the HTTP API of docs/api.md, and (with `ClusterServices`) a cluster member.
///
/// Life: `init` opens the data directory and builds the kernel; `start` listens, recovers every
/// journaled process, spawns missing replicas and writes `<data>/node.json`; `stop` drains and
/// checkpoints. Everything the API acknowledges with a 2xx is durable by then: memory writes,
/// spawns, state changes and accepted messages are committed to SQLite before the answer.
public final class Node: Sendable {
    /// This node's id (also the prefix of its process ids).
    public let id: String
    /// The state directory.
    public let dataDirectory: String
    /// The kernel the node runs.
    public let kernel: Kernel
    /// Recent events, for `/v1/logs`.
    public let recentEvents: EventRing
    /// The programs of exec agents.
    public let execAgents: ExecAgentSupervisor
    /// Cluster membership; nil when embedded.
    public let cluster: (any ClusterServices)?
    /// The node's structured log (every line carries `node`).
    public let logger: NodeLogger

    let store: NodeStore
    let checkpointStore: NodeCheckpointStore
    let memoryBackend: SQLiteBackend?
    let metrics = HTTPMetrics()
    let configHolder: ConfigHolder
    let configSource: (@Sendable () throws -> NodeConfig)?
    let lifecycle = Mutex(Lifecycle())
    let server = Mutex<HTTPServer?>(nil)
    let watcher = Mutex<Task<Void, Never>?>(nil)
    /// The config file's bytes as last read by a reload, so the watcher does not reload (and
    /// re-reject) a file an explicit reload already read.
    let lastConfigBytes = Mutex<Data?>(nil)
    let reloadLock = AsyncLock()
    /// [replicated-memory] the replicated shared memory, set once the cluster is joined.
    let replication = Mutex<ReplicatedMemory?>(nil)

    /// Where the node is in its life.
    public enum Phase: String, Sendable {
        case created, starting, ready, stopping, stopped
    }

    struct Lifecycle {
        var phase = Phase.created
        var startedAt = Date()
        var inFlight = 0
        var apiURL: String?
    }

    /// Builds a node from `config`: opens (creating) the data directory and its databases, picks the
    /// node id, builds the kernel and registers the configured agents, channels and tools. Nothing
    /// listens until `start`.
    ///
    /// - Parameters:
    ///   - cluster: cluster services; nil runs embedded.
    ///   - logger: structured log sink (default: stderr at the config's level).
    ///   - configSource: re-reads the config on reload (default: `NodeConfig.load` of `config.file`).
    public init(config: NodeConfig, cluster: (any ClusterServices)? = nil, logger: NodeLogger? = nil,
                configSource: (@Sendable () throws -> NodeConfig)? = nil) throws {
        let log = logger ?? NodeLogger(level: Self.loggerLevel(config.node.logLevel))
        let data = config.node.data.isEmpty ? ".agentvm" : config.node.data
        try NodeFiles.ensureDirectory(data)
        let nodeID = try NodeFiles.nodeID(configured: config.node.id, dataDir: data)
        self.id = nodeID
        self.dataDirectory = data
        // [cluster] a configured cluster joins over NATS unless the caller brought its own services
        self.cluster = cluster ?? config.cluster.map {
            GossipClusterServices(options: ClusterOptions(config: $0), logger: log.with(["node": .string(nodeID)]))
        }
        self.logger = log.with(["node": .string(nodeID)])
        self.configSource = configSource
        self.configHolder = ConfigHolder(config)

        let events = EventBus()
        let store = try NodeStore(path: (data as NSString).appendingPathComponent("node.sqlite"))
        self.store = store
        self.checkpointStore = NodeCheckpointStore(store: store)
        let backend: any MemoryBackend
        switch config.memory.backend {
        case .sqlite:
            let path = config.memory.path ?? (data as NSString).appendingPathComponent("memory.sqlite")
            let sqlite = try SQLiteBackend(path: path)
            memoryBackend = sqlite
            backend = sqlite
        case .memory:
            memoryBackend = nil
            backend = InMemoryBackend()
        }
        let memory = MemoryBus(backend: backend, events: events)
        let supervisor = ExecAgentSupervisor(events: events, logger: self.logger)
        self.execAgents = supervisor
        let handlers = HandlerRegistry.withBuiltIns()
        let holder = configHolder
        handlers.register("exec") { definition in
            let current = holder.value
            guard let agent = current.agent(named: definition.name), let spec = ExecAgentSpec(agent: agent, config: current) else {
                throw ExecBindingError("agent \(definition.name) has no exec command in the node's config")
            }
            return ExecAgentHandler(spec: spec, supervisor: supervisor)
        }
        kernel = Kernel(config: KernelConfig(nodeID: nodeID, maxProcesses: config.maxProcesses, checkpointOnCrash: true),
                        events: events, memory: memory, handlers: handlers,
                        journal: store.journal, checkpoints: checkpointStore)
        memory.setCommonNamespaces(Set(config.memory.replicated))
        recentEvents = EventRing(capacity: 10_000)
        recentEvents.attach(to: events)

        for agent in config.agents {
            try kernel.register(try agent.definition(), replace: true)
        }
        for channel in config.channels {
            try kernel.broker.createChannel(try channel.channelConfig())
        }
        for saved in (try? store.channels()) ?? [] where kernel.broker.channel(saved.name) == nil {
            do { try kernel.broker.createChannel(saved) } catch {
                self.logger.warn("cannot recreate channel", ["channel": .string(saved.name), "error": .string("\(error)")])
            }
        }
        enableTools(config.tools)
    }

    deinit {
        recentEvents.detach()
        // A node dropped without `stop()` (or whose `init` failed late) still releases its files;
        // closing is idempotent.
        store.close()
        memoryBackend?.close()
    }

    static func loggerLevel(_ level: NodeConfig.LogLevel) -> NodeLogger.Level {
        switch level {
        case .trace, .debug: return .debug
        case .info, .notice: return .info
        case .warning: return .warn
        case .error, .critical: return .error
        }
    }

    // MARK: Accessors

    /// The config in force (after any reloads).
    public var config: NodeConfig { configHolder.value }
    /// The event bus of the kernel.
    public var events: EventBus { kernel.events }
    /// `embedded` or `cluster`.
    public var mode: String { cluster == nil ? "embedded" : "cluster" }
    /// Where the node is in its life now.
    public var phase: Phase { lifecycle.withLock { $0.phase } }
    /// True once recovery is done and until a stop begins.
    public var isReady: Bool { phase == .ready }
    /// When `start` began.
    public var startedAt: Date { lifecycle.withLock { $0.startedAt } }
    /// `http://HOST:PORT` of the API once listening.
    public var apiURL: String? { lifecycle.withLock { $0.apiURL } }
    /// The API's bound port (0 before `start`).
    public var port: UInt16 { server.withLock { $0?.port } ?? 0 }
    /// Members of the cluster; embedded, just this node.
    public func members() -> [NodeMember] {
        cluster?.members() ?? [NodeMember(id: id, status: "alive", incarnation: 0, lastSeen: Date())] // [cluster] health: default
    }

    // MARK: Start

    /// Listens on `node.listen`, recovers every journaled process (same id, state, memory and
    /// mailbox), spawns missing replicas, joins the cluster if any, writes `<data>/node.json` and
    /// logs `node ready`. `/readyz` answers 503 until then.
    public func start() async throws {
        let go = lifecycle.withLock { l -> Bool in
            guard l.phase == .created else { return false }
            l.phase = .starting
            l.startedAt = Date()
            return true
        }
        guard go else { throw NodeError.alreadyStarted }
        let config = self.config
        guard let address = ListenAddress.parse(config.node.listen) else {
            throw NodeError.invalidListen(config.node.listen)
        }
        var options = HTTPServerOptions()
        options.bearerToken = config.node.token
        options.allowRemote = config.node.allowRemote
        let api = NodeAPI(node: self)
        let router = api.router()
        let http = HTTPServer(options: options, immediate: { [weak self] request in
            self?.handleImmediately(request)
        }) { [weak self] request in
            guard let self else { return HTTPError(status: 503, code: "shutting_down", message: "the node is gone").response }
            return await self.handle(request, router: router, api: api)
        }
        let bound: UInt16
        do { bound = try http.start(host: address.host, port: address.port) } catch {
            // The phase stays `starting`, so `stop()` still closes the databases.
            throw NodeError.listenFailed("\(error)")
        }
        server.withLock { $0 = http }
        let url = address.url(port: bound)
        lifecycle.withLock { $0.apiURL = url }

        try await prepareReplication() // [replicated-namespaces] before any process touches shared memory
        let report = try await kernel.recover()
        for (pid, why) in report.failed.sorted(by: { $0.key < $1.key }) {
            logger.warn("process not recovered", ["process": .string(pid), "reason": .string(why)])
        }
        kernel.memory.startSweeper(interval: .seconds(1))
        await spawnReplicas(config.agents)
        if let cluster { try await cluster.start(node: self) }
        try await startReplication() // [replicated-memory]
        let started = lifecycle.withLock { l -> Date in
            l.phase = .ready
            return l.startedAt
        }
        try NodeFiles.writeStatus(dataDir: dataDirectory, api: url, nodeID: id, startedAt: started)
        startWatching()
        kernel.events.emit("node.ready", source: "node", data: [
            "api": .string(url), "recovered": .number(Double(report.recovered.count)),
            "messages": .number(Double(report.messages)),
        ])
        logger.info("node ready", [
            "api": .string(url), "mode": .string(mode), "data": .string(dataDirectory),
            "recovered": .number(Double(report.recovered.count)),
        ])
    }

    /// Spawns processes until each agent has `replicas` live (not terminated or crashed) ones.
    func spawnReplicas(_ agents: [NodeConfig.Agent]) async {
        for agent in agents where agent.replicas > 0 {
            let live = kernel.processes(agent: agent.name).filter { !$0.state.isFinal }.count
            guard live < agent.replicas else { continue }
            do {
                let ids = try await kernel.spawn(agent.name, count: agent.replicas - live)
                logger.info("spawned replicas", ["agent": .string(agent.name), "processes": .array(ids.map(JSONValue.string))])
            } catch {
                logger.error("cannot spawn replicas", ["agent": .string(agent.name), "error": .string("\(error)")])
            }
        }
    }

    func enableTools(_ names: [String]) {
        for name in names {
            guard let tool = NodeTools.definition(name) else {
                logger.warn("unknown tool in config", ["tool": .string(name)])
                continue
            }
            if kernel.tools.tool(named: name) == nil {
                do { try kernel.tools.register(tool) } catch {
                    logger.warn("cannot enable tool", ["tool": .string(name), "error": .string("\(error)")])
                }
            }
        }
    }

    // MARK: Requests

    /// The probes, answered on the HTTP server's polling thread without a Task hop: they only read
    /// the phase. Everything else returns nil and goes to `handle`.
    func handleImmediately(_ request: HTTPRequest) -> HTTPResponse? {
        guard request.method == "GET" || request.method == "HEAD" else { return nil }
        let response: HTTPResponse
        switch request.path {
        case "/healthz": response = Self.healthy
        case "/readyz": response = Self.readiness(lifecycle.withLock { $0.phase })
        default: return nil
        }
        metrics.count(status: response.status)
        return response
    }

    // Encoded once: JSONEncoder took a quarter of the CPU of a /healthz answered on the spot.
    private static let healthy = HTTPResponse.json(["status": "ok"])
    private static let ready = HTTPResponse.json(["status": "ready"])

    private static func readiness(_ phase: Phase) -> HTTPResponse {
        switch phase {
        case .ready: return ready
        case .stopping, .stopped:
            return HTTPError(status: 503, code: "shutting_down", message: "the node is stopping").response
        case .created, .starting:
            return HTTPError(status: 503, code: "not_ready", message: "the node is still recovering").response
        }
    }

    /// Gates every request on the node's phase, counts it, and routes it.
    func handle(_ request: HTTPRequest, router: Router, api: NodeAPI? = nil) async -> HTTPResponse {
        let phase = lifecycle.withLock { l -> Phase in
            l.inFlight += 1
            return l.phase
        }
        defer { lifecycle.withLock { $0.inFlight -= 1 } }
        let response: HTTPResponse
        switch (request.path, phase) {
        case ("/healthz", _), ("/metrics", _):
            response = await router.handle(request)
        case ("/readyz", _):
            response = Self.readiness(phase)
        case (_, .stopping), (_, .stopped):
            response = HTTPError(status: 503, code: "shutting_down", message: "the node is stopping; retry on the next start").response
        case (_, .created), (_, .starting):
            response = HTTPError(status: 503, code: "not_ready", message: "the node is still recovering").response
        case (_, .ready):
            if let api, let long = await api.routeLongMemoryPath(request) {
                response = long
            } else {
                response = await router.handle(request)
            }
        }
        metrics.count(status: response.status)
        return response
    }

    // MARK: Stop

    /// Graceful stop: new requests get 503 `shutting_down`; running executions get up to
    /// `node.shutdownGrace` to finish; every live process is checkpointed (reason `shutdown`);
    /// the cluster is left, the databases closed, exec programs stopped, the API closed and
    /// `node.json` removed. Processes stay in the journal, so the next start brings them back.
    public func stop() async {
        let go = lifecycle.withLock { l -> Bool in
            guard l.phase != .stopping && l.phase != .stopped else { return false }
            l.phase = .stopping
            return true
        }
        guard go else { return }
        logger.info("node stopping")
        watcher.withLock { t -> Task<Void, Never>? in
            let old = t
            t = nil
            return old
        }?.cancel()
        // Requests already admitted (executions among them) finish first; the kernel then waits
        // for what is left of the grace on executions started otherwise, and checkpoints.
        let grace = config.node.shutdownGrace
        let deadline = ContinuousClock.now + grace
        while lifecycle.withLock({ $0.inFlight }) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let remaining = max(.zero, deadline - ContinuousClock.now)
        let checkpointed = await kernel.shutdown(grace: remaining).count
        await stopReplication() // [replicated-memory] persists what peers sent, before the store closes
        if let cluster { await cluster.stop() }
        kernel.memory.stopSweeper()
        kernel.events.emit("node.stopping", source: "node", data: ["checkpointed": .number(Double(checkpointed))])
        // Close persistence before stopping the programs: a delivery that fails while they exit
        // then cannot be recorded as consumed, so the message is redelivered on the next start.
        store.close()
        memoryBackend?.close()
        await execAgents.stopAll()
        // Dropping the server also breaks the node -> server -> router -> node cycle.
        let http = server.withLock { s -> HTTPServer? in
            let old = s
            s = nil
            return old
        }
        await http?.stop()
        NodeFiles.removeStatus(dataDir: dataDirectory)
        recentEvents.detach()
        lifecycle.withLock { $0.phase = .stopped }
        logger.info("node stopped", ["checkpointed": .number(Double(checkpointed))])
    }
}

/// Why a node could not start.
public enum NodeError: Error, Sendable, CustomStringConvertible {
    case alreadyStarted
    case invalidListen(String)
    case listenFailed(String)
    case config(String)

    public var description: String {
        switch self {
        case .alreadyStarted: return "the node was already started"
        case .invalidListen(let l): return "node.listen: '\(l)' is not HOST:PORT"
        case .listenFailed(let why): return "cannot listen: \(why)"
        case .config(let why): return "config: \(why)"
        }
    }
}

/// The config in force, shared with the exec handler factory.
final class ConfigHolder: Sendable {
    private let state: Mutex<NodeConfig>
    init(_ config: NodeConfig) { state = Mutex(config) }
    var value: NodeConfig {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

/// Requests answered, by status code, for `/metrics`.
final class HTTPMetrics: Sendable {
    private let counts = Mutex<[Int: UInt64]>([:])
    func count(status: Int) { counts.withLock { $0[status, default: 0] += 1 } }
    var byStatus: [Int: UInt64] { counts.withLock { $0 } }
}
