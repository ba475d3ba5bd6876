import ClusterCore
import Foundation
import Gossip
import NATSBridge
import Synchronization
import Transport

/// The node in a cluster: one NATS connection (reconnecting forever, with backoff and jitter) and a
/// `GossipNode` over it. It reports connection states and membership changes as kernel events
/// (`cluster.connection.*`, `member.*`) and log lines, keeps the node's health in its heartbeat,
/// answers `/v1/members` and adds membership to `/metrics`. `stop()` leaves gracefully, so peers
/// record `left` rather than `dead`.
///
/// Losing NATS never stops the node: its processes keep running, the state turns `disconnected`,
/// libnats reconnects and re-subscribes, and gossip resumes (peers that were declared dead in the
/// meantime refute and come back as new lives). See docs/cluster.md.
public final class GossipClusterServices: ClusterServices {
    /// What this node was told about its cluster.
    public let options: ClusterOptions
    let logger: NodeLogger
    private let usage = ProcessUsage()
    private let gossipLog = LogThrottle()
    private let state = Mutex(State())

    private struct Running: Sendable {
        let id: NodeID
        let connection: NATSConnection
        let gossip: GossipNode
        let events: EventBus
        let kick: AsyncStream<Void>.Continuation
    }

    private struct State {
        var phase = Phase.idle
        var running: Running?
        var tasks: Tasks?
        var snapshot = Snapshot()
        var connection = TransportState.disconnected
    }

    private enum Phase { case idle, starting, running, stopping, stopped }

    /// The loops of a running membership; each ends on its own once `stop` closes what it reads,
    /// except the ticker, which is cancelled.
    private struct Tasks {
        var connection: Task<Void, Never>
        var changes: Task<Void, Never>
        var refresh: Task<Void, Never>
        var ticker: Task<Void, Never>
        var all: [Task<Void, Never>] { [connection, changes, refresh, ticker] }
    }

    /// What `members()` and `/metrics` read: refreshed every gossip round and at once on every
    /// membership change, so readers never wait on the gossip actor.
    private struct Snapshot {
        var members: [NodeMember] = []
        var stats: GossipStats?
        var dropped: [String: Int] = [:]
        var sendFailures = 0
    }

    /// Services for a cluster described by `options`, logging to `logger`. Nothing connects until
    /// `start`; a started instance runs until `stop()` (its loops keep it alive until then).
    public init(options: ClusterOptions, logger: NodeLogger) {
        self.options = options
        self.logger = logger.with(["cluster": .string(options.name)])
    }

    // MARK: ClusterServices

    /// Joins as `node`: its id, its kernel's event bus, and health from its kernel and this process.
    public func start(node: Node) async throws {
        try await start(nodeID: node.id, events: node.events, health: Self.healthProvider(for: node, usage: usage))
    }

    /// Joins as `nodeID`, reporting events on `events` and calling `health` every
    /// `options.healthInterval` for the heartbeat's health. Returns once subscribed; NATS itself may
    /// still be unreachable (the node then joins when it comes up).
    public func start(nodeID: String, events: EventBus, health provided: @escaping @Sendable () -> MemberHealth) async throws {
        let labels = options.labels
        let health: @Sendable () -> MemberHealth = {
            var h = provided()
            h.labels = labels.merging(h.labels) { _, own in own }
            return h
        }
        let go = state.withLock { s -> Bool in
            guard s.phase == .idle else { return false }
            s.phase = .starting
            return true
        }
        guard go else { throw ClusterError.alreadyStarted }
        let id = NodeID(nodeID)
        do {
            guard id.isValid else { throw ClusterError.invalidNodeID(nodeID) }
            guard NodeID.isSubjectToken(options.name) else { throw ClusterError.invalidClusterName(options.name) }
            var nats = options.nats
            if nats.name == nil { nats.name = "agentvm-\(nodeID)" }
            let connection: NATSConnection
            do { connection = try await NATSConnection.connect(nats) } catch {
                throw ClusterError.connect(servers: nats.servers, reason: "\(error)")
            }
            let log = logger
            let throttle = gossipLog
            let gossip = try GossipNode(id: id, cluster: options.name, transport: connection, settings: options.gossip,
                                        health: health(), log: { line in Self.logGossip(line, logger: log, throttle: throttle) })
            do { try await gossip.start() } catch {
                connection.close()
                throw ClusterError.connect(servers: nats.servers, reason: "\(error)")
            }
            let (kicks, kick) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            let running = Running(id: id, connection: connection, gossip: gossip, events: events, kick: kick)
            let tasks = Tasks(
                connection: Task { [weak self] in await self?.watchConnection(running) },
                changes: Task { [weak self] in await self?.watchChanges(running) },
                refresh: Task { [weak self] in await self?.refreshLoop(running, kicks: kicks) },
                ticker: Task { [weak self] in await self?.tickLoop(running, health: health) })
            state.withLock { s in
                s.running = running
                s.tasks = tasks
                s.phase = .running
            }
            logger.info("cluster membership started", [
                "servers": .array(nats.servers.map(JSONValue.string)),
                "subjects": .string("agentvm.\(options.name).gossip.>"),
            ])
        } catch {
            state.withLock { $0.phase = .idle }
            throw error
        }
    }

    /// Leaves gracefully: announces `left` to the cluster, stops gossip and closes the connection.
    public func stop() async {
        let taken = state.withLock { s -> (Running, Tasks)? in
            guard s.phase == .running, let r = s.running, let t = s.tasks else {
                if s.phase == .idle { s.phase = .stopped }
                return nil
            }
            s.phase = .stopping
            s.tasks = nil
            return (r, t)
        }
        guard let (running, tasks) = taken else { return }
        tasks.ticker.cancel()
        // leave() ends the changes stream once the `left` news is out; the last events still flow.
        await running.gossip.leave()
        await tasks.changes.value
        running.kick.finish()
        running.connection.close()
        for t in tasks.all { await t.value }
        state.withLock { s in
            s.phase = .stopped
            s.running = nil
        }
        logger.info("left cluster")
    }

    /// Every member this node knows, itself included, sorted by id.
    public func members() -> [NodeMember] {
        state.withLock { $0.snapshot.members }
    }

    /// [replicated-memory] The NATS connection as a transport, for replicated memory; nil unless running.
    public var transport: (any Transport)? {
        state.withLock { $0.running?.connection }
    }

    /// The NATS connection's state now (`disconnected` before `start`).
    public var connectionState: TransportState {
        state.withLock { $0.connection }
    }

    /// Membership, gossip and connection figures for `/metrics`.
    public func addMetrics(to p: inout PrometheusText) {
        let (snap, conn, nats) = state.withLock { s in (s.snapshot, s.connection, s.running?.connection) }
        var byStatus: [String: Int] = [:]
        for m in snap.members { byStatus[m.status, default: 0] += 1 }
        for status in MemberStatus.allCases {
            p.add("agentvm_cluster_members", .gauge, help: "Cluster members in this node's view, by status.",
                  value: Double(byStatus[status.rawValue] ?? 0), labels: [("status", status.rawValue)])
        }
        for s in [TransportState.connected, .disconnected, .reconnected, .closed] {
            p.add("agentvm_cluster_connection", .gauge, help: "NATS connection state (1 for the current one).",
                  value: s == conn ? 1 : 0, labels: [("state", "\(s)")])
        }
        p.add("agentvm_cluster_reconnects_total", .counter, help: "Times the NATS connection came back after a loss.",
              value: Double(nats?.reconnectCount ?? 0))
        p.add("agentvm_nats_slow_consumer_errors_total", .counter, help: "Messages libnats dropped for slow subscriptions.",
              value: Double(nats?.slowConsumerErrors ?? 0))
        for reason in GossipDecodeError.reasons {
            p.add("agentvm_gossip_dropped_messages_total", .counter,
                  help: "Gossip messages dropped undecoded (malformed, oversized, wrong version), by reason.",
                  value: Double(snap.dropped[reason] ?? 0), labels: [("reason", reason)])
        }
        p.add("agentvm_gossip_send_failures_total", .counter, help: "Gossip publishes NATS refused.",
              value: Double(snap.sendFailures))
        p.add("agentvm_gossip_messages_sent_total", .counter, help: "Gossip messages sent.", value: Double(snap.stats?.messagesSent ?? 0))
        p.add("agentvm_gossip_messages_received_total", .counter, help: "Gossip messages received.",
              value: Double(snap.stats?.messagesReceived ?? 0))
        p.add("agentvm_gossip_refutations_total", .counter, help: "Suspicions of this node it refuted.",
              value: Double(snap.stats?.refutations ?? 0))
        p.add("agentvm_gossip_suspicions_total", .counter, help: "Members this node began to suspect.",
              value: Double(snap.stats?.suspicionsRaised ?? 0))
        p.add("agentvm_gossip_deaths_declared_total", .counter, help: "Members this node declared dead.",
              value: Double(snap.stats?.deathsDeclared ?? 0))
        p.add("agentvm_gossip_late_ticks_total", .counter, help: "Gossip rounds that came late (this node was stalled).",
              value: Double(snap.stats?.lateTicks ?? 0))
    }

    // MARK: Loops

    /// Connection states become kernel events and log lines.
    private func watchConnection(_ r: Running) async {
        var everConnected = false
        for await s in r.connection.stateUpdates() {
            let stopping = state.withLock { st -> Bool in
                st.connection = s
                return st.phase == .stopping || st.phase == .stopped
            }
            // Closing the connection on stop passes through `disconnected`: not news.
            if stopping { continue }
            let url: JSONValue = r.connection.connectedURL.map(JSONValue.string) ?? .null
            switch s {
            case .connected:
                everConnected = true
                r.events.emit("cluster.connection.connected", source: "cluster", data: ["server": url])
                logger.info("connected to NATS", ["server": url])
            case .disconnected:
                r.events.emit("cluster.connection.disconnected", source: "cluster", data: ["everConnected": .bool(everConnected)])
                if everConnected {
                    logger.warn("disconnected from NATS; local processes keep running, reconnecting")
                } else {
                    logger.warn("NATS not reachable yet; retrying", ["servers": .array(options.nats.servers.map(JSONValue.string))])
                }
            case .reconnected:
                let count = r.connection.reconnectCount
                r.events.emit("cluster.connection.reconnected", source: "cluster",
                              data: ["server": url, "reconnects": .number(Double(count))])
                logger.info("reconnected to NATS", ["server": url, "reconnects": .number(Double(count))])
            case .closed:
                logger.error("NATS connection closed; this node is out of the cluster until restarted")
            }
        }
    }

    /// Membership changes become kernel events and log lines, and refresh the snapshot at once.
    private func watchChanges(_ r: Running) async {
        for await change in r.gossip.changes {
            if let e = MembershipEvent(change) {
                r.events.emit(e.type, source: "cluster", data: e.data)
                let fields = e.data.objectValue ?? [:]
                if e.isFailure { logger.warn(e.message, fields) } else { logger.info(e.message, fields) }
            } else if change.member.lifecycle == .removed {
                logger.debug("member pruned from the table", ["member": .string(change.member.id.rawValue)])
            }
            r.kick.yield()
        }
    }

    /// One refresher, so snapshots are stored in the order they were read.
    private func refreshLoop(_ r: Running, kicks: AsyncStream<Void>) async {
        for await _ in kicks {
            await refresh(r)
        }
    }

    /// Every gossip round: a refresh; every `healthInterval`: fresh health into the heartbeat.
    private func tickLoop(_ r: Running, health: @escaping @Sendable () -> MemberHealth) async {
        let clock = ContinuousClock()
        var lastHealth = clock.now
        r.kick.yield()
        while !Task.isCancelled {
            do { try await Task.sleep(for: options.gossip.interval) } catch { return }
            if clock.now - lastHealth >= options.healthInterval {
                lastHealth = clock.now
                await r.gossip.updateHealth(health())
            }
            r.kick.yield()
        }
    }

    private func refresh(_ r: Running) async {
        let gossip = r.gossip
        var rows: [NodeMember] = []
        for m in await gossip.members() {
            rows.append(NodeMember(id: m.id.rawValue, status: m.status.rawValue, incarnation: m.incarnation,
                                   lastSeen: await gossip.lastSeenDate(of: m), health: m.health))
        }
        let stats = await gossip.stats()
        let dropped = await gossip.droppedByReason
        let sendFailures = await gossip.sendFailures
        let snapshot = Snapshot(members: rows, stats: stats, dropped: dropped, sendFailures: sendFailures)
        state.withLock { $0.snapshot = snapshot }
    }

    // MARK: Helpers

    /// Health from a node: live processes and mailbox depth from its kernel, CPU and memory from
    /// /proc, its version and API address. (`start` adds the configured labels.)
    static func healthProvider(for node: Node, usage: ProcessUsage) -> @Sendable () -> MemberHealth {
        { [weak node] in
            guard let node else { return MemberHealth() }
            let live = node.kernel.processes().filter { !$0.state.isFinal }
            let (cpu, memory) = usage.sample()
            return MemberHealth(processCount: live.count, queueDepth: live.reduce(0) { $0 + $1.mailboxDepth },
                                cpu: cpu, memoryBytes: memory, version: NodeAPI.version,
                                apiAddress: node.apiURL ?? "")
        }
    }

    static func logGossip(_ line: String, logger: NodeLogger, throttle: LogThrottle) {
        let (pass, suppressed) = throttle.admit()
        if suppressed > 0 { logger.warn("gossip log lines suppressed", ["count": .number(Double(suppressed))]) }
        if pass { logger.warn(line) }
    }

}

/// Why a node could not join its cluster.
public enum ClusterError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The node id cannot be one NATS subject token.
    case invalidNodeID(String)
    /// The cluster name cannot be one NATS subject token.
    case invalidClusterName(String)
    /// The NATS options were refused, or subscribing failed.
    case connect(servers: [String], reason: String)
    /// `start` was called twice.
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidNodeID(let id):
            return "node id '\(id)' cannot join a cluster: use 1–128 characters of A–Z a–z 0–9 - _ (node.id, --node-id)"
        case .invalidClusterName(let name):
            return "cluster name '\(name)' is invalid: use 1–128 characters of A–Z a–z 0–9 - _ (cluster.name, --cluster)"
        case .connect(let servers, let reason):
            return "cannot join the cluster over NATS \(servers.joined(separator: ",")): \(reason)"
        case .alreadyStarted:
            return "cluster services already started"
        }
    }
}
