import AgentVMTestKit
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NodeAgent
import Testing

/// Processes share replicated memory across real `agentvm-node` processes joined over a real
/// `nats-server`: an exec agent on node 1 writes `shared` through the exec protocol's memory
/// request; node 2 reads it through its API. Deadlines are generous; only values are asserted.
@Suite(.serialized) struct ReplicatedNamespacesEndToEndTests {
    /// An exec agent: each task `{"key", "value"}` becomes a `memory.set` request with
    /// `shared: true`; the task answers once the node has replied (the write is then durable).
    static let writer = """
        import json, sys

        def send(m):
            sys.stdout.write(json.dumps(m) + "\\n")
            sys.stdout.flush()

        waiting = {}
        for line in sys.stdin:
            m = json.loads(line)
            t = m.get("type")
            if t == "hello":
                send({"type": "ready"})
            elif t == "task":
                data = m.get("input") or {}
                request = "r-" + str(m["id"])
                waiting[request] = m["id"]
                msg = {"type": "memory.set", "id": request, "key": data["key"], "value": data["value"]}
                if "namespace" in data:
                    msg["namespace"] = data["namespace"]
                else:
                    msg["shared"] = True
                send(msg)
            elif t == "reply" and m.get("id") in waiting:
                task = waiting.pop(m["id"])
                if "error" in m:
                    send({"type": "error", "id": task, "message": m["error"].get("message", "failed")})
                else:
                    send({"type": "result", "id": task, "output": {"written": True}})
            elif t == "shutdown":
                break

        """

    static func config(cluster: String, nats: String) -> String {
        """
        name: replicated-namespaces-e2e
        memory:
          backend: sqlite
          replicated: [team]
        agents:
          writer:
            handler: exec
            command: [python3, writer.py]
        cluster:
          name: \(cluster)
          nats: ["\(nats)"]

        """
    }

    @Test func anExecAgentsSharedWriteAndADeclaredNamespaceReachTheOtherNode() async throws {
        let nats = try NATSServerFixture.started(jetStream: false, name: "nats-repl-ns")
        defer { nats.stop() }
        let cluster = "e2e_" + UUID().uuidString.prefix(8).lowercased()
        var nodes: [NodeUnderTest] = []
        for id in ["ns1", "ns2"] {
            let node = try NodeUnderTest(config: Self.config(cluster: cluster, nats: nats.url), extraArgs: ["--node-id", id])
            try Data(Self.writer.utf8).write(to: node.dir.file("writer.py"))
            nodes.append(node)
        }
        defer { for n in nodes { n.kill() } }
        for n in nodes { try await n.start() }
        let one = try nodes[0].client(), two = try nodes[1].client()

        // The agent on node 1 writes through the exec protocol (its ExecutionContext's shared memory).
        let spawned = try await one.post("/v1/processes", ["agent": "writer"])
        let pid = try #require(spawned["processes"]?[0]?["id"]?.stringValue)
        let run = try await one.post("/v1/processes/\(pid)/execute", ["input": ["key": "greeting", "value": "hello from an agent on ns1"]])
        #expect(run["output"] == ["written": true], "\(run)")

        // The agent names a declared namespace; an undeclared one is refused (the task fails).
        let named = try await one.post("/v1/processes/\(pid)/execute", ["input": ["namespace": "team", "key": "byagent", "value": 3]])
        #expect(named["output"] == ["written": true], "\(named)")

        // An undeclared namespace written first stays local; the declared one replicates.
        _ = try await one.put("/v1/memory/notes/local", ["value": "only on ns1"])
        _ = try await one.put("/v1/memory/team/plan", ["value": ["step": 1]])

        let arrived = await waitUntil(deadline: .seconds(90), poll: .milliseconds(100)) {
            let greeting = try? await two.get("/v1/memory/shared/greeting")
            let plan = try? await two.get("/v1/memory/team/plan")
            let byAgent = try? await two.get("/v1/memory/team/byagent")
            return greeting?["value"] == "hello from an agent on ns1" && plan?["value"] == ["step": 1] && byAgent?["value"] == 3
        }
        #expect(arrived)
        let refused = try? await one.post("/v1/processes/\(pid)/execute", ["input": ["namespace": "notes", "key": "x", "value": 1]])
        #expect(refused == nil, "an undeclared namespace is closed to agents: \(String(describing: refused))")
        #expect((try? await one.get("/v1/memory/notes/x")) == nil)
        // Both arrived after `notes/local` was written on ns1, yet ns2 does not have it.
        let notes = try? await two.get("/v1/memory/notes/local")
        #expect(notes == nil)
        #expect((try? await one.get("/v1/memory/notes/local"))?["value"] == "only on ns1")

        // Node 2's processes see the same values: its kernel's MemoryBus serves them.
        let stats = try await two.get("/v1/stats")
        #expect((stats["memory"]?["keys"]?.intValue ?? 0) >= 2, "\(stats)")

        // Replication figures on /metrics.
        let metrics = try await Self.metricsText(nodes[0].api)
        #expect(metrics.contains("agentvm_replication_live_keys{namespace=\"team\"} 2"), "\(metrics)")
        #expect(metrics.contains("agentvm_replication_live_keys{namespace=\"shared\"} 1"))
        #expect(metrics.contains("agentvm_replication_peers 1"))
        #expect(metrics.contains("agentvm_replication_messages_sent_total{kind=\"deltas\"}"))
    }

    /// A node that ran embedded and then joins a cluster keeps what its processes wrote to `shared`
    /// (and to a namespace it now declares replicated): the keys move into the replica, TTLs too,
    /// and reach the other node.
    @Test func keysWrittenWhileEmbeddedMoveIntoTheReplica() async throws {
        let nats = try NATSServerFixture.started(jetStream: false, name: "nats-repl-move")
        defer { nats.stop() }
        let cluster = "e2e_" + UUID().uuidString.prefix(8).lowercased()
        let embedded = "name: moved\nmemory:\n  backend: sqlite\n"
        let first = try NodeUnderTest(config: embedded, extraArgs: ["--node-id", "mv1"])
        defer { first.kill() }
        try await first.start()
        let local = try first.client()
        _ = try await local.put("/v1/memory/shared/kept", ["value": "written while embedded"])
        _ = try await local.put("/v1/memory/shared/leased", ["value": 7, "ttlMs": 3_600_000])
        _ = try await local.put("/v1/memory/team/plan", ["value": ["step": 2]])
        _ = try await local.post("/v1/memory/shared/visits/increment", ["by": 5])
        #expect(await first.terminate() == 0)

        let clustered = Self.config(cluster: cluster, nats: nats.url)
        try Data(clustered.utf8).write(to: first.config)
        try Data(Self.writer.utf8).write(to: first.dir.file("writer.py"))
        try await first.start()
        let second = try NodeUnderTest(config: clustered, extraArgs: ["--node-id", "mv2"])
        defer { second.kill() }
        try Data(Self.writer.utf8).write(to: second.dir.file("writer.py"))
        try await second.start()

        let one = try first.client(), two = try second.client()
        #expect((try? await one.get("/v1/memory/shared/kept"))?["value"] == "written while embedded")
        let arrived = await waitUntil(deadline: .seconds(90), poll: .milliseconds(100)) {
            let kept = try? await two.get("/v1/memory/shared/kept")
            let leased = try? await two.get("/v1/memory/shared/leased")
            let plan = try? await two.get("/v1/memory/team/plan")
            return kept?["value"] == "written while embedded" && leased?["value"] == 7 && plan?["value"] == ["step": 2]
        }
        #expect(arrived)
        let leased = try await two.get("/v1/memory/shared/leased")
        #expect(leased["expiresAt"] != nil && leased["expiresAt"] != .null, "the TTL moved with the key: \(leased)")
        // The local counter is a PN-counter now: increments on both nodes add up.
        _ = try await one.post("/v1/memory/shared/visits/increment", ["by": 1])
        _ = try await two.post("/v1/memory/shared/visits/increment", ["by": 1])
        let summed = await waitUntil(deadline: .seconds(60), poll: .milliseconds(100)) {
            let a = try? await one.get("/v1/memory/shared/visits")
            let b = try? await two.get("/v1/memory/shared/visits")
            return a?["value"] == 7 && b?["value"] == 7
        }
        #expect(summed)
    }

    static func metricsText(_ api: String) async throws -> String {
        guard let url = URL(string: api + "/metrics") else { return "" }
        let (data, _) = try await URLSession.shared.data(from: url)
        return String(decoding: data, as: UTF8.self)
    }
}
