import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

@Suite("Node: persistence across restarts")
struct NodeRestartTests {
    @Test func processesMemoryAndMailboxesSurviveARestart() async throws {
        let dir = makeNodeTempDir()
        let config = try nodeConfig(dir: dir)
        let first = try await startNode(config)
        let spawned = try await call(first, "POST", "/v1/processes", json: ["agent": "tally", "count": 2, "input": ["by": 2]])
        let ids = spawned.value["processes"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        try #require(ids.count == 2)
        let running = ids[0], paused = ids[1]
        _ = try await call(first, "POST", "/v1/processes/\(paused)/pause")
        let sent = try await call(first, "POST", "/v1/processes/\(paused)/messages", json: ["payload": "wake up"])
        #expect(sent.status == 202)
        _ = try await call(first, "PUT", "/v1/memory/shared/motto", json: ["value": "keep going"])
        _ = try await call(first, "POST", "/v1/channels", json: ["name": "later", "type": "queue"])
        let nodeID = first.id
        await first.stop()

        let second = try await startNode(config)
        #expect(second.id == nodeID)
        let list = try await call(second, "GET", "/v1/processes")
        let back = Dictionary(uniqueKeysWithValues: (list.value["processes"]?.arrayValue ?? []).compactMap { p -> (String, JSONValue)? in
            guard let id = p["id"]?.stringValue else { return nil }
            return (id, p)
        })
        #expect(back[running]?["state"]?.stringValue == "running")
        #expect(back[paused]?["state"]?.stringValue == "paused")
        #expect(back[paused]?["mailboxDepth"]?.intValue == 1)
        #expect(back[running]?["counters"]?["executions"]?.intValue == 1)
        let count = try await call(second, "GET", "/v1/memory/\(running)/count")
        #expect(count.value["value"]?.doubleValue == 2)
        let motto = try await call(second, "GET", "/v1/memory/shared/motto")
        #expect(motto.value["value"]?.stringValue == "keep going")
        let channels = try await call(second, "GET", "/v1/channels")
        #expect(channels.value["channels"]?.arrayValue?.contains { $0["name"]?.stringValue == "later" } == true)
        // Shutdown checkpoints were taken for every live process.
        #expect(try await second.kernel.latestCheckpoint(running) != nil)

        let next = try await call(second, "POST", "/v1/processes/\(running)/execute", json: ["input": ["by": 1]])
        #expect(next.value["output"]?["count"]?.doubleValue == 3)
        _ = try await call(second, "POST", "/v1/processes/\(paused)/resume")
        let delivered = try await waitUntil {
            try await call(second, "GET", "/v1/memory/\(paused)/count").value["value"]?.doubleValue == 3
        }
        #expect(delivered)
        // A new spawn never reuses an id from before the restart.
        let fresh = try await call(second, "POST", "/v1/processes", json: ["agent": "greeter"])
        let freshID = try #require(fresh.value["processes"]?[0]?["id"]?.stringValue)
        #expect(!ids.contains(freshID))
        await second.stop()
    }

    @Test func replicasAreSpawnedOnceAndTopUpAfterATerminate() async throws {
        let dir = makeNodeTempDir()
        let yaml = baseNodeYAML.replacingOccurrences(of: "    description: echoes", with: "    description: echoes\n    replicas: 2")
        let config = try nodeConfig(yaml, dir: dir)
        let first = try await startNode(config)
        let initial = first.kernel.processes(agent: "greeter").map(\.id)
        #expect(initial.count == 2)
        try await first.kernel.terminate(try #require(initial.first))
        await first.stop()

        let second = try await startNode(config)
        let after = second.kernel.processes(agent: "greeter").filter { !$0.state.isFinal }.map(\.id)
        #expect(after.count == 2)
        #expect(after.contains(initial[1]))
        await second.stop()
    }

    @Test func stoppingRefusesNewWorkWith503() async throws {
        let node = try await startNode(try nodeConfig(dir: makeNodeTempDir()))
        let port = node.port
        await node.stop()
        // The server is gone after stop; a request now cannot connect or is refused.
        let result = try? await rawRequest(port: port, method: "GET", path: "/v1/agents")
        #expect(result == nil || result?.status == 503)
        let gated = await node.handle(HTTPRequest(method: "GET", path: "/v1/agents"), router: Router())
        #expect(gated.status == 503)
        let readyz = await node.handle(HTTPRequest(method: "GET", path: "/readyz"), router: Router())
        #expect(readyz.status == 503)
    }

    /// A second node opening the data directory of one that never stopped sees exactly what a
    /// node restarted after SIGKILL would: what is committed, with no shutdown checkpoint.
    @Test func acknowledgedWorkIsCommittedBeforeTheAnswer() async throws {
        let dir = makeNodeTempDir()
        let config = try nodeConfig(dir: dir)
        let first = try await startNode(config)
        let spawned = try await call(first, "POST", "/v1/processes", json: ["agent": "tally"])
        let id = try #require(spawned.value["processes"]?[0]?["id"]?.stringValue)
        _ = try await call(first, "POST", "/v1/processes/\(id)/pause")
        for i in 0..<5 {
            let sent = try await call(first, "POST", "/v1/processes/\(id)/messages", json: ["payload": .number(Double(i))])
            #expect(sent.status == 202)
        }
        _ = try await call(first, "PUT", "/v1/memory/shared/k", json: ["value": "v"])

        let second = try Node(config: config, logger: NodeLogger(level: .error))
        let contents = try await second.store.journal.load()
        #expect(contents.processes.map(\.id) == [id])
        #expect(contents.processes.first?.state == .paused)
        #expect(contents.mailboxes[id]?.map(\.payload) == [0, 1, 2, 3, 4])
        #expect(try second.kernel.memory.get("shared", "k") == "v")
        #expect(try await second.kernel.latestCheckpoint(id) == nil)
        second.store.close()
        second.memoryBackend?.close()
        await first.stop()
    }

    @Test func inMemoryMemoryKeepsProcessesButNotValues() async throws {
        let dir = makeNodeTempDir()
        let config = try nodeConfig(baseNodeYAML + "\nmemory:\n  backend: memory\n", dir: dir)
        #expect(config.memory.backend == .memory)
        let first = try await startNode(config)
        let spawned = try await call(first, "POST", "/v1/processes", json: ["agent": "tally", "input": [:]])
        let id = try #require(spawned.value["processes"]?[0]?["id"]?.stringValue)
        #expect(try await call(first, "GET", "/v1/memory/\(id)/count").value["value"]?.doubleValue == 1)
        await first.stop()
        #expect(!FileManager.default.fileExists(atPath: (first.dataDirectory as NSString).appendingPathComponent("memory.sqlite")))
        try await withNode(config) { second in
            #expect(second.kernel.process(id)?.state == .running)
            let gone = try await call(second, "GET", "/v1/memory/\(id)/count")
            #expect(gone.status == 404)
        }
    }
}
