import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

@Suite("Node: exec agents")
struct NodeExecTests {
    func execConfig(dir: String, restart: String = "on-failure") throws -> NodeConfig {
        let script = repositoryRoot().appendingPathComponent("examples/agents/echo.py").path
        return try nodeConfig("""
            name: exec
            env:
              AGENT_GREETING: hello
            agents:
              py:
                handler: exec
                command: [python3, \(script)]
                restart:
                  policy: \(restart)
                  maxRestarts: 2
            """, dir: dir)
    }

    @Test func execAgentRunsTasksUsesMemoryAndHandlesMessages() async throws {
        try await withNode(try execConfig(dir: makeNodeTempDir())) { node in
            let spawned = try await call(node, "POST", "/v1/processes", json: ["agent": "py"])
            #expect(spawned.status == 201)
            let id = try #require(spawned.value["processes"]?[0]?["id"]?.stringValue)
            let pid = try #require(node.execAgents.programPID(for: id))
            #expect(isAlive(pid))

            let result = try await call(node, "POST", "/v1/processes/\(id)/execute", json: ["task": "greet", "input": ["a": 1]])
            #expect(result.status == 200)
            #expect(result.value["output"]?["a"]?.intValue == 1)
            _ = try await call(node, "POST", "/v1/processes/\(id)/execute", json: ["input": "again"])
            // The program counts tasks in its memory with memory.incr requests.
            let memory = try await call(node, "GET", "/v1/memory/\(id)/echo.tasks")
            #expect(memory.value["value"]?.doubleValue == 2)

            _ = try await call(node, "POST", "/v1/processes/\(id)/messages", json: ["payload": ["ping": 1]])
            let emitted = await waitUntil { !node.recentEvents.recent(process: id, type: "echo.message").isEmpty }
            #expect(emitted)
            let logs = node.recentEvents.recent(process: id, type: "process.log")
            #expect(logs.contains { $0.data["message"]?.stringValue?.contains("task") == true })

            _ = try await call(node, "POST", "/v1/processes/\(id)/terminate")
            let gone = await waitUntil { !isAlive(pid) }
            #expect(gone)
            #expect(node.execAgents.programPID(for: id) == nil)
        }
    }

    @Test func aKilledProgramIsRestartedByPolicy() async throws {
        try await withNode(try execConfig(dir: makeNodeTempDir())) { node in
            let spawned = try await call(node, "POST", "/v1/processes", json: ["agent": "py"])
            let id = try #require(spawned.value["processes"]?[0]?["id"]?.stringValue)
            let pid = try #require(node.execAgents.programPID(for: id))
            kill(pid, SIGKILL)
            let restarted = await waitUntil {
                if let p = node.execAgents.programPID(for: id), p != pid { return true }
                return false
            }
            #expect(restarted)
            #expect(!node.recentEvents.recent(process: id, type: "exec.restarted").isEmpty)
            let result = try await call(node, "POST", "/v1/processes/\(id)/execute", json: ["input": 5])
            #expect(result.value["output"]?.intValue == 5)
        }
    }

    @Test func programsStopWithTheNodeAndComeBackWithIt() async throws {
        let dir = makeNodeTempDir()
        let config = try execConfig(dir: dir)
        let first = try await startNode(config)
        let spawned = try await call(first, "POST", "/v1/processes", json: ["agent": "py"])
        let id = try #require(spawned.value["processes"]?[0]?["id"]?.stringValue)
        let pid = try #require(first.execAgents.programPID(for: id))
        await first.stop()
        #expect(await waitUntil { !isAlive(pid) })

        try await withNode(config) { second in
            let again = try #require(second.execAgents.programPID(for: id))
            #expect(again != pid)
            let result = try await call(second, "POST", "/v1/processes/\(id)/execute", json: ["input": "back"])
            #expect(result.value["output"]?.stringValue == "back")
        }
    }

    @Test func aFloodingProgramIsHeldAtTheCapItsAgentConfigures() async throws {
        let dir = makeNodeTempDir()
        try ExecRequestCapTests.flooder.write(toFile: (dir as NSString).appendingPathComponent("flood.py"),
                                               atomically: true, encoding: .utf8)
        let config = try nodeConfig("""
            name: flood
            agents:
              flood:
                handler: exec
                command: [python3, flood.py, "500"]
                exec:
                  maxInFlightRequests: 4
            """, dir: dir)
        try await withNode(config) { node in
            let spawned = try await call(node, "POST", "/v1/processes", json: ["agent": "flood"])
            let id = try #require(spawned.value["processes"]?[0]?["id"]?.stringValue)
            let result = try await call(node, "POST", "/v1/processes/\(id)/execute", json: ["task": "flood"])
            #expect(result.status == 200, "\(result.value)")
            #expect(result.value["output"]?["replies"]?.intValue == 500)
            #expect(result.value["output"]?["errors"]?.intValue == 0)
            // Every memory.incr reached the kernel, in the process's own namespace.
            let memory = try await call(node, "GET", "/v1/memory/\(id)/flood")
            #expect(memory.value["value"]?.intValue == 500)
            // That the cap holds is shown with a gated host in ExecRequestCapTests; here, that a
            // flood through the real kernel under a small configured cap loses and fails nothing.
        }
    }
}
