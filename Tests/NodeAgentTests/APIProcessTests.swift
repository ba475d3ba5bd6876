import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

@Suite("API: agents and processes")
struct APIProcessTests {
    @Test func agentsAreListedAndLookedUp() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let list = try await call(node, "GET", "/v1/agents")
            #expect(list.status == 200)
            let names = list.value["agents"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(names == ["greeter", "strict", "tally"])
            let one = try await call(node, "GET", "/v1/agents/tally")
            #expect(one.value["handler"]?.stringValue == "counter")
            #expect(one.value["persistentMemory"]?.boolValue == true)
            #expect(one.value["limits"]?["maxConcurrent"]?.intValue == 1)
            let strict = try await call(node, "GET", "/v1/agents/strict")
            #expect(strict.value["contract"]?["input"]?["type"]?.stringValue == "object")
            let missing = try await call(node, "GET", "/v1/agents/nobody")
            #expect(missing.status == 404)
            #expect(missing.errorCode == "agent_not_found")
        }
    }

    @Test func spawnListGetAndLifecycle() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let spawned = try await call(node, "POST", "/v1/processes", json: ["agent": "greeter", "count": 2])
            #expect(spawned.status == 201)
            let ids = spawned.value["processes"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(ids.count == 2)
            let first = try #require(ids.first)
            #expect(spawned.value["processes"]?[0]?["state"]?.stringValue == "running")
            #expect(spawned.value["processes"]?[0]?["node"]?.stringValue == node.id)

            let listed = try await call(node, "GET", "/v1/processes?agent=greeter")
            #expect(listed.value["processes"]?.arrayValue?.count == 2)
            let got = try await call(node, "GET", "/v1/processes/\(first)")
            #expect(got.value["agent"]?.stringValue == "greeter")
            #expect(got.value["counters"]?["executions"]?.intValue == 0)

            let paused = try await call(node, "POST", "/v1/processes/\(first)/pause")
            #expect(paused.status == 200)
            #expect(paused.value["state"]?.stringValue == "paused")
            let again = try await call(node, "POST", "/v1/processes/\(first)/pause")
            #expect(again.status == 409)
            #expect(again.errorCode == "invalid_transition")
            let byState = try await call(node, "GET", "/v1/processes?state=paused")
            #expect(byState.value["processes"]?.arrayValue?.count == 1)
            let badState = try await call(node, "GET", "/v1/processes?state=sleeping")
            #expect(badState.status == 400)
            #expect(badState.errorField == "state")
            let resumed = try await call(node, "POST", "/v1/processes/\(first)/resume")
            #expect(resumed.value["state"]?.stringValue == "running")

            let killed = try await call(node, "POST", "/v1/processes/\(first)/terminate")
            #expect(killed.value["state"]?.stringValue == "terminated")
            let killedAgain = try await call(node, "DELETE", "/v1/processes/\(first)")
            #expect(killedAgain.status == 200)
            #expect(killedAgain.value["state"]?.stringValue == "terminated")
            let unknown = try await call(node, "POST", "/v1/processes/nope-1/pause")
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "process_not_found")
        }
    }

    @Test func spawnValidatesItsBody() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let notJSON = try await call(node, "POST", "/v1/processes", body: Data("{agent: greeter".utf8))
            #expect(notJSON.status == 400)
            #expect(notJSON.errorCode == "invalid_json")
            let notObject = try await call(node, "POST", "/v1/processes", json: [1, 2])
            #expect(notObject.status == 400)
            #expect(notObject.errorCode == "invalid_json")
            let missing = try await call(node, "POST", "/v1/processes", json: [:])
            #expect(missing.status == 400)
            #expect(missing.errorCode == "invalid_argument")
            #expect(missing.errorField == "agent")
            let wrongType = try await call(node, "POST", "/v1/processes", json: ["agent": 7])
            #expect(wrongType.errorField == "agent")
            let badCount = try await call(node, "POST", "/v1/processes", json: ["agent": "greeter", "count": "two"])
            #expect(badCount.status == 400)
            #expect(badCount.errorField == "count")
            let zero = try await call(node, "POST", "/v1/processes", json: ["agent": "greeter", "count": 0])
            #expect(zero.errorField == "count")
            let unknown = try await call(node, "POST", "/v1/processes", json: ["agent": "ghost"])
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "agent_not_found")
        }
    }

    @Test func executeRunsTasksAndEnforcesContracts() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let tally = try await call(node, "POST", "/v1/processes", json: ["agent": "tally", "input": ["by": 2]])
            let id = try #require(tally.value["processes"]?[0]?["id"]?.stringValue)
            let result = try await call(node, "POST", "/v1/processes/\(id)/execute", json: ["input": ["by": 3]])
            #expect(result.status == 200)
            #expect(result.value["output"]?["count"]?.doubleValue == 5)
            #expect(result.value["processId"]?.stringValue == id)
            #expect(result.value["task"]?.stringValue == "default")
            #expect(result.value["durationMs"]?.doubleValue != nil)
            let emptyBody = try await call(node, "POST", "/v1/processes/\(id)/execute")
            #expect(emptyBody.value["output"]?["count"]?.doubleValue == 6)
            let badTask = try await call(node, "POST", "/v1/processes/\(id)/execute", json: ["task": 5])
            #expect(badTask.status == 400)
            #expect(badTask.errorField == "task")

            let strict = try await call(node, "POST", "/v1/processes", json: ["agent": "strict"])
            let sid = try #require(strict.value["processes"]?[0]?["id"]?.stringValue)
            let rejected = try await call(node, "POST", "/v1/processes/\(sid)/execute", json: ["input": ["name": 1]])
            #expect(rejected.status == 422)
            #expect(rejected.errorCode == "contract_violation")
            #expect(rejected.errorMessage?.contains("name") == true)
            let stillRunning = try await call(node, "GET", "/v1/processes/\(sid)")
            #expect(stillRunning.value["state"]?.stringValue == "running")
            let ok = try await call(node, "POST", "/v1/processes/\(sid)/execute", json: ["input": ["name": "ada"]])
            #expect(ok.value["output"]?["name"]?.stringValue == "ada")

            _ = try await call(node, "POST", "/v1/processes/\(sid)/pause")
            let paused = try await call(node, "POST", "/v1/processes/\(sid)/execute", json: ["input": ["name": "ada"]])
            #expect(paused.status == 409)
            #expect(paused.errorCode == "invalid_transition")
        }
    }

    @Test func messagesAreAcceptedIntoTheMailbox() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let spawned = try await call(node, "POST", "/v1/processes", json: ["agent": "tally"])
            let id = try #require(spawned.value["processes"]?[0]?["id"]?.stringValue)
            _ = try await call(node, "POST", "/v1/processes/\(id)/pause")
            let sent = try await call(node, "POST", "/v1/processes/\(id)/messages", json: ["payload": ["hi": true], "priority": 3])
            #expect(sent.status == 202)
            #expect(sent.value["to"]?.stringValue == id)
            #expect(sent.value["from"]?.stringValue == "api")
            #expect(sent.value["priority"]?.intValue == 3)
            #expect(sent.value["channel"] == .null)
            let depth = try await call(node, "GET", "/v1/processes/\(id)")
            #expect(depth.value["mailboxDepth"]?.intValue == 1)
            _ = try await call(node, "POST", "/v1/processes/\(id)/resume")
            // The counter handler counts each message in its memory.
            let handled = try await waitUntil {
                try await call(node, "GET", "/v1/memory/\(id)/count").value["value"]?.doubleValue == 1
            }
            #expect(handled)
            let noPayload = try await call(node, "POST", "/v1/processes/\(id)/messages", json: ["priority": 1])
            #expect(noPayload.status == 400)
            #expect(noPayload.errorField == "payload")
            let badTTL = try await call(node, "POST", "/v1/processes/\(id)/messages", json: ["payload": 1, "ttlMs": -5])
            #expect(badTTL.errorField == "ttlMs")
            let nobody = try await call(node, "POST", "/v1/processes/ghost-9/messages", json: ["payload": 1])
            #expect(nobody.errorCode == "process_not_found")
        }
    }

    @Test func checkpointAndRestore() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let spawned = try await call(node, "POST", "/v1/processes", json: ["agent": "tally", "input": ["by": 4]])
            let id = try #require(spawned.value["processes"]?[0]?["id"]?.stringValue)
            let checkpoint = try await call(node, "POST", "/v1/processes/\(id)/checkpoint")
            #expect(checkpoint.status == 200)
            #expect(checkpoint.value["format"]?.stringValue == "agentvm.checkpoint")
            #expect(checkpoint.value["metadata"]?["processID"]?.stringValue == id)
            let live = try await call(node, "POST", "/v1/checkpoints/restore", body: checkpoint.body)
            #expect(live.status == 409)
            #expect(live.errorCode == "already_exists")
            _ = try await call(node, "POST", "/v1/processes/\(id)/terminate")
            let restored = try await call(node, "POST", "/v1/checkpoints/restore", body: checkpoint.body)
            #expect(restored.status == 201)
            #expect(restored.value["id"]?.stringValue == id)
            #expect(restored.value["state"]?.stringValue == "paused")
            let memory = try await call(node, "GET", "/v1/memory/\(id)/count")
            #expect(memory.value["value"]?.doubleValue == 4)
            let garbage = try await call(node, "POST", "/v1/checkpoints/restore", json: ["format": "other"])
            #expect(garbage.status == 400)
            #expect(garbage.errorCode == "invalid_checkpoint")
            let empty = try await call(node, "POST", "/v1/checkpoints/restore")
            #expect(empty.status == 400)
        }
    }
}
