import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

/// Takes a while on every task, so a stop can catch it running.
struct SleepyHandler: AgentHandler {
    func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
        try await Task.sleep(for: .milliseconds(700))
        return AgentOutput(task.input)
    }
}

@Suite("Node: graceful stop")
struct NodeShutdownTests {
    @Test func runningExecutionsFinishWhileNewRequestsAreRefused() async throws {
        let node = try await startNode(try nodeConfig(dir: makeNodeTempDir()))
        node.kernel.handlers.register("sleepy") { _ in SleepyHandler() }
        try node.kernel.register(AgentDefinition(name: "sleepy", handler: "sleepy"))
        let id = try await node.kernel.spawn("sleepy")
        let running = Task { try await call(node, "POST", "/v1/processes/\(id)/execute", json: ["input": "done"]) }
        #expect(await waitUntil { node.kernel.process(id)?.runningExecutions == 1 })
        let stopping = Task { await node.stop() }
        #expect(await waitUntil { node.phase == .stopping })
        let refused = try await call(node, "GET", "/v1/agents")
        #expect(refused.status == 503)
        #expect(refused.errorCode == "shutting_down")
        let notReady = try await call(node, "GET", "/readyz")
        #expect(notReady.status == 503)
        let finished = try await running.value
        #expect(finished.status == 200)
        #expect(finished.value["output"]?.stringValue == "done")
        await stopping.value
        #expect(node.phase == .stopped)
    }

    @Test func aNodeThatCannotListenFailsToStartAndReleasesItsFiles() async throws {
        let holder = try await startNode(try nodeConfig(dir: makeNodeTempDir()))
        var config = try nodeConfig(dir: makeNodeTempDir())
        config.node.listen = "127.0.0.1:\(holder.port)"
        let node = try Node(config: config, logger: NodeLogger(level: .error))
        await #expect(throws: NodeError.self) { try await node.start() }
        await node.stop()
        #expect(node.phase == .stopped)
        // The same data directory opens again (the databases were closed).
        config.node.listen = "127.0.0.1:0"
        try await withNode(config) { again in
            #expect(again.isReady)
        }
        await holder.stop()
    }
}
