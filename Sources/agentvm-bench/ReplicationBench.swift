import AgentVMTestKit
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NodeAgent

/// `agentvm-bench crdt`, real-node part: convergence of replicated shared memory after a
/// partition heals. Two routed `nats-server`s that do not advertise each other to clients
/// (`--no_advertise`, so a node cannot fail over): nodes b1 and b2 on the first, b3 on the second.
/// The second server is stopped, 10,000 keys are written (5,000 on b1, 5,000 on b3, over HTTP,
/// 32 writers per side, each write durable), the server is restarted, and every node's
/// `GET /v1/memory/shared?summary=1` (count and hash of the live contents) is polled until all
/// three hold the same 10,000 keys. Prints:
/// - `heal_convergence_ms`: from b3's NATS connection coming back (the network healed; b3's
///   `/metrics` shows `reconnected`) to all three nodes equal. Target: 1,000 ms.
/// - `heal_total_ms`: from the server restart, so including libnats' reconnect delay and gossip
///   refuting the death verdicts the partition caused.
/// - `heal_partition_write_ms`: how long writing the 10,000 keys took.
/// - `heal_summary_ms`: the median time of one convergence poll (a summary of 10,000 keys) on b1
///   afterwards: the load the polling itself puts on the nodes while they heal.
/// - `heal_load_1m`: the machine's 1-minute load average when the heal ended (the figures above
///   are CPU-bound: three nodes decode and merge ~1 MB of JSON each on a shared machine).
/// Each number includes up to one polling round (three summaries, 10 ms apart).
enum ReplicationBench {
    static let keys = 10_000
    static let writers = 32

    static func run() async throws {
        let binary = try GossipBench.nodeBinary()
        let name = "replbench-" + UUID().uuidString.prefix(6).lowercased()
        let ports = try FreePort.next(2)
        let servers = try (0..<2).map { i in
            try NATSServerFixture(jetStream: false, name: "\(name)-\(i)", extraArguments: [
                "--cluster_name", name, "--cluster", "nats://127.0.0.1:\(ports[i])",
                "--routes", "nats://127.0.0.1:\(ports[1 - i])", "--no_advertise"])
        }
        defer { for s in servers { s.stop() } }
        for s in servers { try s.start() }
        let work = try TempDirectory(prefix: "agentvm-replbench")
        defer { work.remove() }
        let cluster = "bench_" + UUID().uuidString.prefix(8).lowercased()
        let ids = ["b1", "b2", "b3"]
        var members: [BenchMember] = []
        defer { for m in members { m.kill() } }
        for (i, id) in ids.enumerated() {
            let m = try BenchMember(id: id, binary: binary, work: work.url, nats: servers[i == 2 ? 1 : 0].url, cluster: cluster)
            members.append(m)
            try await m.start()
        }
        try await GossipBench.waitForViews(members, deadline: .seconds(60), what: "all nodes alive") { view in
            ids.allSatisfy { view[$0]?.status == "alive" }
        }

        servers[1].stop()
        let clock = ContinuousClock()
        let writeStart = clock.now
        let half = keys / 2
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for (side, node) in [(0, members[0]), (1, members[2])] {
                for w in 0..<writers {
                    let api = node.api
                    tasks.addTask {
                        let client = try APIClient(baseURL: api, timeout: .seconds(60))
                        var i = w
                        while i < half {
                            _ = try await client.put("/v1/memory/shared/k\(side)-\(i)", ["value": .number(Double(i))])
                            i += writers
                        }
                    }
                }
            }
            try await tasks.waitForAll()
        }
        let writeMs = milliseconds(clock.now - writeStart)

        try servers[1].restart()
        let restarted = clock.now
        guard let metrics = URL(string: members[2].api + "/metrics") else { throw GossipBenchError("bad API URL \(members[2].api)") }
        try await poll(deadline: .seconds(60), what: "b3 reconnected to NATS") {
            let (data, _) = try await URLSession.shared.data(from: metrics)
            let text = String(decoding: data, as: UTF8.self)
            return text.contains(#"agentvm_cluster_connection{state="reconnected"} 1"#)
                || text.contains(#"agentvm_cluster_connection{state="connected"} 1"#)
        }
        let reconnected = clock.now
        let clients = try members.map { try APIClient(baseURL: $0.api, timeout: .seconds(30)) }
        try await poll(deadline: .seconds(120), what: "all three nodes holding the same \(keys) keys") {
            var first: JSONValue?
            for c in clients {
                let summary = try await c.get("/v1/memory/shared", query: [("summary", "1")])
                guard summary["count"] == .number(Double(keys)) else { return false }
                if let f = first, f != summary["hash"] { return false }
                first = summary["hash"]
            }
            return true
        }
        let done = clock.now
        print("heal_convergence_ms \(Int(milliseconds(done - reconnected).rounded()))")
        print("heal_total_ms \(Int(milliseconds(done - restarted).rounded()))")
        print("heal_partition_write_ms \(Int(writeMs.rounded()))")
        var polls: [Double] = []
        for _ in 0..<21 {
            let t = clock.now
            _ = try await clients[0].get("/v1/memory/shared", query: [("summary", "1")])
            polls.append(milliseconds(clock.now - t))
        }
        print("heal_summary_ms \(Int(polls.sorted()[polls.count / 2].rounded()))")
        if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8).split(separator: " ").first {
            print("heal_load_1m \(load)")
        }
    }

    static func poll(deadline: Duration, what: String, _ condition: () async throws -> Bool) async throws {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        while true {
            if (try? await condition()) == true { return }
            guard clock.now < end else { throw GossipBenchError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    static func milliseconds(_ d: Duration) -> Double {
        let (s, atto) = d.components
        return Double(s) * 1000 + Double(atto) / 1e15
    }
}
