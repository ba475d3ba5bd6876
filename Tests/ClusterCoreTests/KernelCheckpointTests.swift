import Foundation
import Testing
@testable import ClusterCore

@Suite("Kernel checkpoints")
struct KernelCheckpointTests {
    @Test func checkpointIsSelfDescribingAndRestoresPausedWithSameID() async throws {
        let kernel = makeKernel(handlers: ["rec": RecordingHandler()])
        try kernel.register(AgentDefinition(name: "c", handler: "counter"))
        let pid = try await kernel.spawn("c")
        _ = try await kernel.execute(pid, AgentTask(input: ["by": 5]))
        try await kernel.memory.set(pid, "temp", "x", ttl: .seconds(3600))
        try await kernel.pause(pid)
        try await kernel.send(to: pid, payload: "pending", priority: 2)

        let data = try await kernel.checkpoint(pid)
        let json = try JSONValue.parse(data)
        #expect(json["format"] == "agentvm.checkpoint")
        #expect(json["version"] == 1)
        #expect(json["metadata"]?["processID"] == .string(pid))
        #expect(json["state"] == "paused")
        #expect(json["agent"]?["handler"] == "counter")
        #expect(json["mailbox"]?[0]?["payload"] == "pending")
        #expect(json["counters"]?["executions"] == 1)
        let temp = try #require(json["memory"]?["records"]?.arrayValue?.first { $0["key"] == "temp" })
        #expect(temp["entry"]?["expiresAt"]?.stringValue != nil)

        let cp = try kernel.readCheckpoint(data)
        #expect(cp.metadata.agent == "c")
        #expect(cp.mailbox.count == 1)

        // Restore into a fresh kernel: same id, paused, memory, mailbox and counters back.
        let other = makeKernel()
        try other.register(AgentDefinition(name: "c", handler: "counter"))
        #expect(try await other.restore(data) == pid)
        let p = try #require(other.process(pid))
        #expect(p.state == .paused)
        #expect(p.mailboxDepth == 1)
        #expect(p.counters.executions == 1)
        #expect(try other.memory.get(pid, "count") == 5)
        #expect(try other.memory.entry(pid, "temp")?.expiresAt != nil)
        try await other.resume(pid)
        #expect(await eventually { (try? other.memory.get(pid, "count")) == 6 })   // the pending message was delivered
        // New ids never collide with the restored one.
        let fresh = try await other.spawn("c")
        #expect(fresh != pid)
    }

    @Test func badCheckpointsAreRefusedAndChangeNothing() async throws {
        let kernel = makeKernel()
        try kernel.register(AgentDefinition(name: "e", handler: "echo"))
        let pid = try await kernel.spawn("e")
        let good = try JSONValue.parse(try await kernel.checkpoint(pid))
        let before = kernel.processes().count

        #expect(throws: CheckpointError.self) { try kernel.readCheckpoint(Data("{not json".utf8)) }
        #expect(throws: CheckpointError.foreignFormat("other")) {
            try kernel.readCheckpoint(Data(#"{"format":"other","version":1}"#.utf8))
        }
        #expect(throws: CheckpointError.malformed("expected a JSON object, got array")) { try kernel.readCheckpoint(Data("[1,2]".utf8)) }
        #expect(throws: CheckpointError.foreignFormat(nil)) { try kernel.readCheckpoint(Data(#"{"version":1}"#.utf8)) }
        guard case .object(var newer) = good else { Issue.record("not an object"); return }
        newer["version"] = 2
        #expect(throws: CheckpointError.unsupportedVersion(found: 2, supported: 1)) {
            try kernel.readCheckpoint(JSONValue.object(newer).encoded())
        }
        guard case .object(var broken) = good, case .object(var meta) = good["metadata"] ?? .null else { return }
        meta["processID"] = nil
        broken["metadata"] = .object(meta)
        do {
            _ = try kernel.readCheckpoint(JSONValue.object(broken).encoded())
            Issue.record("accepted a checkpoint without processID")
        } catch {
            #expect(error.description.contains("metadata.processID"))
        }
        await #expect(throws: (any Error).self) { try await kernel.restore(JSONValue.object(broken).encoded()) }
        // Restoring over a live process is refused.
        await #expect(throws: KernelError.processExists(pid)) { try await kernel.restore(good.encoded()) }
        // A handler other than the registered agent's is refused.
        guard case .object(var alien) = good, case .object(var agent) = good["agent"] ?? .null else { return }
        agent["handler"] = "martian"
        alien["agent"] = .object(agent)
        try await kernel.terminate(pid)
        await #expect(throws: KernelError.self) {
            try await kernel.restore(JSONValue.object(alien).encoded())
        }
        #expect(kernel.processes().count == before - 1)
        #expect(kernel.process(pid)?.state == .terminated)
    }
}

@Suite struct KernelCheckpointHostileInputTests {
    private func checkpointOfCounter() async throws -> (Kernel, String, JSONValue) {
        let kernel = Kernel()
        try kernel.register(AgentDefinition(name: "c", handler: "counter"))
        let pid = try await kernel.spawn("c")
        let data = try await kernel.checkpoint(pid)
        try await kernel.terminate(pid)
        return (kernel, pid, try JSONValue.parse(data))
    }

    private func replacing(_ json: JSONValue, _ path: [String], with value: JSONValue) -> JSONValue {
        guard let key = path.first, case .object(var o) = json else { return json }
        o[key] = path.count == 1 ? value : replacing(o[key] ?? .null, Array(path.dropFirst()), with: value)
        return .object(o)
    }

    @Test func aCheckpointCannotRaiseTheAgentsRights() async throws {
        let (kernel, pid, json) = try await checkpointOfCounter()
        let raised = replacing(json, ["agent", "permission"], with: "admin")
        try await kernel.restore(raised.encoded())
        #expect(kernel.process(pid)?.state == .paused)
        let restored = try JSONValue.parse(try await kernel.checkpoint(pid))
        #expect(restored["agent"]?["permission"] != "admin")
    }

    @Test func aCheckpointOfAnUnknownAgentIsRefused() async throws {
        let (kernel, _, json) = try await checkpointOfCounter()
        let foreign = replacing(json, ["agent", "name"], with: "nobody")
        await #expect(throws: KernelError.agentNotFound("nobody")) { try await kernel.restore(foreign.encoded()) }
    }

    @Test func hugeCountersAndTimeoutsAreRefusedNotTrapped() async throws {
        let (kernel, _, json) = try await checkpointOfCounter()
        let counters = replacing(json, ["counters", "tokens"], with: .number(9.2e18))
        await #expect(throws: (any Error).self) { try await kernel.restore(counters.encoded()) }
        let timeout = replacing(json, ["agent", "limits", "executionTimeout"], with: .number(1e300))
        await #expect(throws: (any Error).self) { try await kernel.restore(timeout.encoded()) }
    }
}
