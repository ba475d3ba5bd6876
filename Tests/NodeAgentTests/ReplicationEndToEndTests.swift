import AgentVMTestKit
import Foundation
import NodeAgent
import Testing

/// Replicated shared memory across real `agentvm-node` processes joined over real `nats-server`s.
/// Deadlines are generous; the assertions are about values, never about how fast they arrived.
@Suite(.serialized) struct ReplicationEndToEndTests {
    /// A write on n1 is read on n3; concurrent increments on every node reach the exact sum; a set
    /// via the CLI; a node SIGKILLed and restarted keeps what it had and catches up.
    @Test func writeIncrementAndRestartCatchUp() async throws {
        let nats = try NATSServerFixture.started(jetStream: false, name: "nats-repl")
        defer { nats.stop() }
        let ids = ["r1", "r2", "r3"]
        let cluster = try ClusterUnderTest(ids: ids, servers: [nats.url])
        defer { for id in ids { cluster[id].kill() } }
        try await cluster.startAll()
        #expect(await cluster.waitAllAlive(ids, members: ids).ok)

        _ = try await cluster["r1"].client().put("/v1/memory/shared/greeting", ["value": "hello"])
        #expect(await Shared.wait(cluster, ids) { $0["greeting"] == "hello" })

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for (n, id) in ids.enumerated() {
                let client = try cluster[id].client()
                tasks.addTask {
                    for _ in 0..<20 { _ = try await client.post("/v1/memory/shared/hits/increment", ["by": .number(Double(n + 1))]) }
                }
            }
            try await tasks.waitForAll()
        }
        #expect(await Shared.wait(cluster, ids) { $0["hits"] == 120 })

        let added = try await cluster["r2"].cli(["memory", "sadd", "--shared", "tags", "a", "b"])
        #expect(added.code == 0, "\(added)")
        let incr = try await cluster["r3"].cli(["memory", "incr", "--shared", "hits", "5"])
        #expect(incr.code == 0 && incr.stdout.contains("125"), "\(incr)")
        #expect(await Shared.wait(cluster, ids) { $0["tags"] == ["a", "b"] && $0["hits"] == 125 })

        // SIGKILL r2; the others write meanwhile; restarted, r2 has its old state and catches up.
        cluster["r2"].kill()
        _ = try await cluster["r1"].client().put("/v1/memory/shared/during", ["value": "while r2 was down"])
        _ = try await cluster["r3"].client().post("/v1/memory/shared/hits/increment", ["by": 10])
        _ = try await cluster["r1"].client().delete("/v1/memory/shared/greeting")
        try await cluster["r2"].start()
        #expect(await Shared.wait(cluster, ids) { s in
            s["hits"] == 135 && s["during"] == "while r2 was down" && s["greeting"] == nil && s["tags"] == ["a", "b"]
        })
        let members = try await cluster["r2"].cli(["memory", "smembers", "--shared", "tags", "--json"])
        #expect(try members.json() == ["a", "b"], "\(members)")
    }

    /// p3 alone on its own nats-server, routed to p1's and p2's, which is stopped: both sides write (disjoint keys, a key
    /// each side sets, a set and a delete of one key), the server comes back, and all converge.
    @Test func partitionWrittenOnBothSidesThenHealedConverges() async throws {
        let nats = try Shared.routedPair()
        defer { for s in nats { s.stop() } }
        let ids = ["p1", "p2", "p3"]
        // p1 on server 0, p2 on server 1... so give p2 server 0 too: servers [0, 0, 1].
        let cluster = try ClusterUnderTest(ids: ids, servers: [nats[0].url, nats[0].url, nats[1].url])
        defer { for id in ids { cluster[id].kill() } }
        try await cluster.startAll()
        #expect(await cluster.waitAllAlive(ids, members: ids).ok)
        let c1 = try cluster["p1"].client(), c3 = try cluster["p3"].client()
        _ = try await c1.put("/v1/memory/shared/doomed", ["value": "old"])
        _ = try await c1.put("/v1/memory/shared/revived", ["value": "old"])
        #expect(await Shared.wait(cluster, ids) { $0["doomed"] == "old" && $0["revived"] == "old" })

        nats[1].stop()
        for i in 0..<20 {
            _ = try await c1.put("/v1/memory/shared/left-\(i)", ["value": .number(Double(i))])
            _ = try await c3.put("/v1/memory/shared/right-\(i)", ["value": .number(Double(i))])
        }
        _ = try await c3.post("/v1/memory/shared/both/increment", ["by": 3])
        _ = try await c1.post("/v1/memory/shared/both/increment", ["by": 4])
        // Set then (later) delete: the delete wins. Delete then (later) set: the set wins.
        _ = try await c3.put("/v1/memory/shared/doomed", ["value": "set on p3"])
        _ = try await c1.delete("/v1/memory/shared/doomed")
        _ = try await c1.delete("/v1/memory/shared/revived")
        _ = try await c3.put("/v1/memory/shared/revived", ["value": "set on p3"])
        #expect(try await Shared.snapshot(cluster["p3"])?["left-0"] == nil)

        try nats[1].restart()
        let ok = await Shared.wait(cluster, ids, deadline: .seconds(60)) { s in
            (0..<20).allSatisfy { s["left-\($0)"] == .number(Double($0)) && s["right-\($0)"] == .number(Double($0)) }
                && s["both"] == 7 && s["doomed"] == nil && s["revived"] == "set on p3"
        }
        #expect(ok)
    }
}

/// Reads of the shared namespace over HTTP, and a NATS topology that can be cut.
enum Shared {
    /// Two routed nats-servers that do not tell clients about each other (`--no_advertise`), so a
    /// node on one cannot fail over to the other: stopping one cuts its nodes off.
    static func routedPair() throws -> [NATSServerFixture] {
        let name = "repl-" + UUID().uuidString.prefix(6).lowercased()
        let ports = try FreePort.next(2)
        let servers = try (0..<2).map { i in
            try NATSServerFixture(jetStream: false, name: "\(name)-\(i)", extraArguments: [
                "--cluster_name", name, "--cluster", "nats://127.0.0.1:\(ports[i])",
                "--routes", "nats://127.0.0.1:\(ports[1 - i])", "--no_advertise"])
        }
        for s in servers { try s.start() }
        let routed = waitUntilBlocking(deadline: .seconds(20), poll: .milliseconds(50)) {
            servers.allSatisfy { s in (s.monitor("/routez") ?? "").contains("\"num_routes\": 1") }
        }
        guard routed else { throw FixtureError.notReady("routes between \(name)-0 and \(name)-1") }
        return servers
    }

    /// `key → value` of the node's shared namespace, or nil when the node does not answer.
    static func snapshot(_ node: NodeUnderTest) async throws -> [String: JSONValue]? {
        guard let client = try? APIClient(baseURL: node.api, timeout: .seconds(10)),
              let answer = try? await client.get("/v1/memory/shared") else { return nil }
        var out: [String: JSONValue] = [:]
        for e in answer["entries"]?.arrayValue ?? [] {
            if let k = e["key"]?.stringValue { out[k] = e["value"] ?? .null }
        }
        return out
    }

    /// Waits until every node in `ids` holds the same shared namespace and it satisfies `check`.
    static func wait(_ cluster: ClusterUnderTest, _ ids: [String], deadline: Duration = .seconds(30),
                     _ check: @escaping ([String: JSONValue]) -> Bool) async -> Bool {
        await waitUntil(deadline: deadline, poll: .milliseconds(100)) {
            var seen: [[String: JSONValue]] = []
            for id in ids {
                guard let s = try? await snapshot(cluster[id]) else { return false }
                seen.append(s)
            }
            return seen.allSatisfy { $0 == seen[0] } && check(seen[0])
        }
    }
}
