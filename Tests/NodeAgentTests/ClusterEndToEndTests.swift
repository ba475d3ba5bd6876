import AgentVMTestKit
import Foundation
import NATSBridge
import NodeAgent
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Real `agentvm-node` processes joined over a real `nats-server` on loopback. Deadlines are
/// generous (the detection bound is 3 s; CI machines are small): timing never decides a result.
/// Serialized: each test runs several nodes and the machine has two cores.
@Suite(.serialized) struct ClusterEndToEndTests {
    /// All see each other; SIGKILL one and the others report it dead; restart it and it is alive
    /// again with a higher incarnation; SIGTERM another and it is `left`, never dead.
    @Test func killRestartAndGracefulLeave() async throws {
        let nats = try NATSServerFixture.started(jetStream: false, name: "nats-members")
        let ids = ["n1", "n2", "n3", "n4"]
        let cluster = try ClusterUnderTest(ids: ids, servers: [nats.url])
        try await cluster.startAll()

        let joined = await cluster.waitAllAlive(ids, members: ids)
        #expect(joined.ok, "views: \(joined.views)")
        let listed = try await cluster["n1"].cli(["members", "--json"])
        #expect(listed.code == 0, "\(listed)")
        let rows = try listed.json().arrayValue ?? []
        #expect(Set(rows.compactMap { $0["id"]?.stringValue }) == Set(ids), "\(listed)")
        #expect(rows.first { $0["id"] == "n2" }?["health"]?["apiAddress"]?.stringValue == cluster["n2"].api)
        #expect(await cluster.metric("n1", #"agentvm_cluster_members{status="alive"}"#) == 4)
        let oldLife = try #require(joined.views["n1"]?["n4"]?.incarnation)

        // SIGKILL: no goodbye, so the failure detector must find out.
        cluster["n4"].kill()
        let survivors = ["n1", "n2", "n3"]
        let dead = await cluster.waitForViews(of: survivors) { $0["n4"]?.status == "dead" }
        #expect(dead.ok, "views after SIGKILL of n4: \(dead.views)")
        let deathEvents = await cluster.events("n1", type: "member.dead")
        #expect(deathEvents.contains { $0.data["member"] == "n4" && $0.data["incarnation"]?.doubleValue == Double(oldLife) },
                "events: \(deathEvents)")

        // Restarted on the same data (same id): a new life with a higher incarnation.
        try await cluster["n4"].start()
        let back = await cluster.waitForViews(of: ids) { view in
            ids.allSatisfy { view[$0]?.status == "alive" } && (view["n4"]?.incarnation ?? 0) > oldLife
        }
        #expect(back.ok, "views after restart of n4 (old incarnation \(oldLife)): \(back.views)")
        let rejoined = await cluster.events("n1", type: "member.joined")
        #expect(rejoined.contains { $0.data["member"] == "n4" && $0.data["newLife"] == true }, "events: \(rejoined)")

        // SIGTERM: a graceful stop announces the leave.
        let code = await cluster["n3"].terminate()
        #expect(code == 0)
        let remaining = ["n1", "n2", "n4"]
        let left = await cluster.waitForViews(of: remaining) { $0["n3"]?.status == "left" }
        #expect(left.ok, "views after SIGTERM of n3: \(left.views)")
        for observer in remaining {
            let deaths = await cluster.events(observer, type: "member.dead")
            #expect(!deaths.contains { $0.data["member"] == "n3" }, "\(observer) declared n3 dead: \(deaths)")
        }
        #expect(await cluster.events("n1", type: "member.left").contains { $0.data["member"] == "n3" })
    }

    /// Bad gossip is dropped and counted without changing the view; the NATS server stops and
    /// starts again on the same port: nodes keep serving and running processes while
    /// disconnected, reconnect, and membership recovers without a restart.
    @Test func badGossipIsDroppedAndMembershipSurvivesNATSRestart() async throws {
        let nats = try NATSServerFixture.started(jetStream: false, name: "nats-restart")
        let ids = ["a1", "a2", "a3"]
        let cluster = try ClusterUnderTest(ids: ids, servers: [nats.url])
        try await cluster.startAll()
        let joined = await cluster.waitAllAlive(ids, members: ids)
        #expect(joined.ok, "views: \(joined.views)")

        // Malformed, oversized and wrong-version messages straight onto a1's gossip subject.
        let intruder = try await NATSConnection.connect(NATSOptions(servers: [nats.url], name: "intruder"))
        defer { intruder.close() }
        let subject = "agentvm.\(cluster.name).gossip.node.a1"
        try intruder.publish(subject, payload: Data("{not json".utf8), replyTo: nil)
        try intruder.publish(subject, payload: Data(repeating: 0x20, count: 600 * 1024), replyTo: nil)
        let future = #"{"version": 2, "kind": "digest", "sender": "evil", "entries": [{"id": "evil"}]}"#
        try intruder.publish(subject, payload: Data(future.utf8), replyTo: nil)
        try await intruder.flush(timeout: .seconds(5))
        let counted = await waitUntil(deadline: .seconds(20), poll: .milliseconds(100)) {
            for reason in ["malformed", "oversized", "wrong_version"] {
                guard let v = await cluster.metric("a1", "agentvm_gossip_dropped_messages_total{reason=\"\(reason)\"}"),
                      v >= 1 else { return false }
            }
            return true
        }
        #expect(counted)
        #expect(cluster["a1"].child?.stderrText().contains("evil via \(subject)") == true)
        let unchanged = await cluster.view(of: "a1")
        #expect(unchanged?.keys.sorted() == ids, "view: \(String(describing: unchanged))")

        let client = try cluster["a1"].client()
        let spawned = try await client.post("/v1/processes", ["agent": "echo"])
        let pid = try #require(spawned["processes"]?[0]?["id"]?.stringValue)

        nats.stop()
        let down = await waitUntil(deadline: .seconds(20), poll: .milliseconds(100)) {
            for id in ids where await cluster.metric(id, #"agentvm_cluster_connection{state="disconnected"}"#) != 1 {
                return false
            }
            return true
        }
        #expect(down)
        // Local work goes on without NATS.
        let echoed = try await client.post("/v1/processes/\(pid)/execute", ["input": ["still": "here"]])
        #expect(echoed["output"] == ["still": "here"])

        // Kept down until the silence shows: with Lifeguard every node first blames itself
        // (stretching its timeouts), so this takes ~10 s at the defaults.
        let disturbed = await cluster.waitForViews(of: ids, deadline: .seconds(60)) { view in
            view.values.contains { $0.status != "alive" }
        }
        #expect(disturbed.ok, "views during the outage: \(disturbed.views)")

        try nats.restart()
        let reconnected = await waitUntil(deadline: .seconds(30), poll: .milliseconds(100)) {
            for id in ids where (await cluster.metric(id, "agentvm_cluster_reconnects_total") ?? 0) < 1 { return false }
            return true
        }
        #expect(reconnected)
        let recovered = await cluster.waitAllAlive(ids, members: ids, deadline: .seconds(60))
        #expect(recovered.ok, "views after the NATS restart: \(recovered.views)")
        for id in ids {
            let types = await cluster.events(id, type: "cluster.connection.*").map(\.type)
            #expect(types.contains("cluster.connection.disconnected") && types.contains("cluster.connection.reconnected"),
                    "\(id): \(types)")
        }
        #expect(await cluster.events("a1", type: "member.alive").count + cluster.events("a1", type: "member.joined").count > 3)
    }

    /// Three NATS servers routed into one cluster; each node talks to a different server (set
    /// through `cluster:` in agentvm.yml) and all see each other.
    @Test func nodesOnDifferentServersOfANATSClusterSeeEachOther() async throws {
        let nats = try NATSClusterFixture.started(size: 3)
        let ids = ["c1", "c2", "c3"]
        let cluster = try ClusterUnderTest(ids: ids, servers: nats.urls, viaConfig: true)
        try await cluster.startAll()
        let joined = await cluster.waitAllAlive(ids, members: ids)
        #expect(joined.ok, "views: \(joined.views)")
        for id in ids {
            #expect(await cluster.metric(id, #"agentvm_cluster_connection{state="connected"}"#) == 1)
        }
    }
}
