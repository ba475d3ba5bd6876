import AgentVMTestKit
import ClusterCore
import Foundation
import Synchronization
@testable import NodeAgent
import Testing

/// `GossipClusterServices` in this process over a real `nats-server`: events, members, metrics,
/// joining while NATS is still down, and the mapping of `cluster:` in agentvm.yml.
@Suite struct ClusterServicesTests {
    static func quietLogger() -> NodeLogger { NodeLogger(level: .error) }

    /// Collects events of `bus` matching `filter` in the background.
    final class Recorder: Sendable {
        private final class Store: Sendable { let list = Mutex<[KernelEvent]>([]) }
        private let store = Store()
        private let task: Task<Void, Never>
        init(_ bus: EventBus, _ filter: EventFilter) {
            let sub = bus.subscribe(filter)
            let store = self.store
            task = Task { for await e in sub.events { store.list.withLock { $0.append(e) } } }
        }
        var events: [KernelEvent] { store.list.withLock { $0 } }
        func has(_ type: String, member: String) -> Bool {
            events.contains { $0.type == type && $0.data["member"]?.stringValue == member }
        }
        deinit { task.cancel() }
    }

    @Test func twoMembersJoinReportEventsAndLeaveGracefully() async throws {
        let nats = try NATSServerFixture.started(jetStream: false, name: "nats-services")
        let name = "svc_" + UUID().uuidString.prefix(8).lowercased()
        let busA = EventBus(), busB = EventBus()
        let recA = Recorder(busA, "*")
        let a = GossipClusterServices(options: ClusterOptions(name: name, servers: [nats.url], labels: ["zone": "a"]),
                                      logger: Self.quietLogger())
        let b = GossipClusterServices(options: ClusterOptions(name: name, servers: [nats.url]), logger: Self.quietLogger())
        try await a.start(nodeID: "svc-a", events: busA, health: { .init(processCount: 7, apiAddress: "http://a") })
        try await b.start(nodeID: "svc-b", events: busB, health: { .init(processCount: 2) })

        let both = await waitUntil(deadline: .seconds(20), poll: .milliseconds(50)) {
            a.members().filter { $0.status == "alive" }.count == 2 && b.members().filter { $0.status == "alive" }.count == 2
        }
        #expect(both, "a: \(a.members()), b: \(b.members())")
        let seenByB = try #require(b.members().first { $0.id == "svc-a" })
        #expect(seenByB.health.processCount == 7)
        #expect(seenByB.health.labels == ["zone": "a"])
        #expect(seenByB.health.apiAddress == "http://a")
        #expect(seenByB.incarnation > 0)
        #expect(abs(seenByB.lastSeen.timeIntervalSinceNow) < 60)
        #expect(await waitUntil(deadline: .seconds(10)) { recA.has("member.joined", member: "svc-b") })
        #expect(recA.events.contains { $0.type == "cluster.connection.connected" })
        #expect(a.connectionState == .connected)

        var metrics = PrometheusText()
        a.addMetrics(to: &metrics)
        #expect(metrics.text.contains("agentvm_cluster_members{status=\"alive\"} 2"), "\(metrics.text)")
        #expect(metrics.text.contains("agentvm_gossip_dropped_messages_total{reason=\"malformed\"} 0"))
        #expect(metrics.text.contains("agentvm_cluster_connection{state=\"connected\"} 1"))

        await b.stop()
        #expect(await waitUntil(deadline: .seconds(20), poll: .milliseconds(50)) {
            a.members().first { $0.id == "svc-b" }?.status == "left"
        })
        #expect(await waitUntil(deadline: .seconds(10)) { recA.has("member.left", member: "svc-b") })
        #expect(!recA.has("member.dead", member: "svc-b"))
        await a.stop()
        await a.stop()  // idempotent
    }

    /// A node started while NATS is down keeps going, reports `disconnected`, and joins once the
    /// server comes up.
    @Test func startsWhileNATSIsDownAndJoinsWhenItComesUp() async throws {
        let nats = try NATSServerFixture(jetStream: false, name: "nats-late")
        let name = "late_" + UUID().uuidString.prefix(8).lowercased()
        let bus = EventBus()
        let rec = Recorder(bus, "cluster.connection.*")
        let a = GossipClusterServices(options: ClusterOptions(name: name, servers: [nats.url]), logger: Self.quietLogger())
        let b = GossipClusterServices(options: ClusterOptions(name: name, servers: [nats.url]), logger: Self.quietLogger())
        try await a.start(nodeID: "late-a", events: bus, health: { .init() })
        try await b.start(nodeID: "late-b", events: EventBus(), health: { .init() })
        #expect(a.connectionState == .disconnected)
        #expect(await waitUntil(deadline: .seconds(5)) { rec.events.contains { $0.type == "cluster.connection.disconnected" } })

        try nats.start()
        let joined = await waitUntil(deadline: .seconds(30), poll: .milliseconds(50)) {
            a.members().filter { $0.status == "alive" }.count == 2 && b.members().filter { $0.status == "alive" }.count == 2
        }
        #expect(joined, "a: \(a.members()), b: \(b.members())")
        #expect(rec.events.contains { $0.type == "cluster.connection.connected" })
        await a.stop()
        await b.stop()
    }

    @Test func invalidNamesAreRefusedWithTheFieldNamed() async throws {
        let bad = GossipClusterServices(options: ClusterOptions(name: "has.dots"), logger: Self.quietLogger())
        await #expect(throws: ClusterError.invalidClusterName("has.dots")) {
            try await bad.start(nodeID: "ok", events: EventBus(), health: { .init() })
        }
        let badID = GossipClusterServices(options: ClusterOptions(name: "fine"), logger: Self.quietLogger())
        do {
            try await badID.start(nodeID: "a b", events: EventBus(), health: { .init() })
            Issue.record("an id with a space joined")
        } catch let error as ClusterError {
            #expect(error == .invalidNodeID("a b"))
            #expect(error.description.contains("--node-id"))
        }
    }

    @Test func clusterSectionOfTheConfigMapsOntoOptions() throws {
        let config = try NodeConfig.parse("""
            cluster:
              name: prod
              nats: ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
              user: agent
              password: secret
              gossip:
                interval: 100ms
                fanout: 4
                suspicionMin: 300ms
                suspicionMax: 2s
                localHealthMax: 5
                removeAfter: 1m
            """, file: "agentvm.yml", environment: [:], knownTools: [])
        let cluster = try #require(config.cluster)
        let options = ClusterOptions(config: cluster)
        #expect(options.name == "prod")
        #expect(options.nats.servers == ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"])
        #expect(options.nats.retryOnFailedConnect)
        if case .userPassword(let user, let password) = options.nats.credentials {
            #expect(user == "agent" && password == "secret")
        } else {
            Issue.record("credentials: \(options.nats.credentials)")
        }
        #expect(options.gossip.interval == .milliseconds(100))
        #expect(options.gossip.fanout == 4)
        #expect(options.gossip.suspicionMin == .milliseconds(300))
        #expect(options.gossip.suspicionMax == .seconds(2))
        #expect(options.gossip.maxLocalHealth == 5)
        #expect(options.gossip.deadRetention == .seconds(60))

        let defaults = ClusterOptions(config: try #require(try NodeConfig.parse("cluster: {}", file: "x.yml", environment: [:],
                                                                                  knownTools: []).cluster))
        #expect(defaults.name == "default")
        #expect(defaults.nats.servers == ["nats://127.0.0.1:4222"])
        #expect(defaults.gossip.interval == .milliseconds(200))
        #expect(defaults.gossip.deadRetention == .seconds(30))
    }

    @Test func procStatFieldsAreReadAfterTheCommandName() throws {
        let dir = try TempDirectory(prefix: "procstat")
        let stat = dir.file("stat")
        // A command name with spaces and a parenthesis; utime = 1500, stime = 250.
        try Data("4242 (agent vm) node) S 1 4242 4242 0 -1 4194560 100 0 0 0 1500 250 0 0 20 0 9 0 1 2 3\n".utf8).write(to: stat)
        #expect(ProcessUsage.readCPUTicks(stat.path) == 1750)
        let statm = dir.file("statm")
        try Data("5000 1200 300 10 0 900 0\n".utf8).write(to: statm)
        #expect(ProcessUsage.readResidentPages(statm.path) == 1200)
        #expect(ProcessUsage.readCPUTicks(dir.file("missing").path) == nil)
        let usage = ProcessUsage()
        _ = usage.sample()
        let (cpu, memory) = usage.sample()
        #expect(cpu >= 0)
        #expect(memory > 0)
    }

    @Test func gossipLogLinesAreThrottledAndTheGapIsCounted() {
        let throttle = LogThrottle(limit: 3, window: .seconds(10))
        let t0 = ContinuousClock.now
        let first = (0..<5).map { _ in throttle.admit(now: t0) }
        #expect(first.map(\.pass) == [true, true, true, false, false])
        #expect(first.allSatisfy { $0.suppressedBefore == 0 })
        let next = throttle.admit(now: t0 + .seconds(11))
        #expect(next.pass)
        #expect(next.suppressedBefore == 2)
        #expect(throttle.admit(now: t0 + .seconds(12)).suppressedBefore == 0)
    }
}
