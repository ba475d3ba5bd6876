import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

@Suite("Node: hot reload")
struct NodeReloadTests {
    static let fileYAML = """
        name: reload
        node:
          listen: 127.0.0.1:0
          data: data
          shutdownGrace: 2s
        agents:
          one:
            handler: echo
        """

    func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    @Test func addingAnAgentAppliesAndABreakingChangeIsRefused() async throws {
        let dir = makeNodeTempDir()
        let file = (dir as NSString).appendingPathComponent("agentvm.yml")
        try write(Self.fileYAML, to: file)
        let config = try NodeConfig.load(path: file)
        let node = try Node(config: config, logger: NodeLogger(level: .error))
        try await node.start()
        do {
            try write(Self.fileYAML + "\n  two:\n    handler: counter\n    replicas: 1\nchannels:\n  fresh: {type: queue}\n", to: file)
            let outcome = await node.reload()
            #expect(outcome.applied)
            #expect(outcome.change.agentsAdded == ["two"])
            #expect(node.kernel.agent(named: "two")?.handler == "counter")
            #expect(node.kernel.processes(agent: "two").count == 1)
            #expect(node.kernel.broker.channel("fresh") != nil)
            // The ring is fed by an event-bus listener, so events land shortly after.
            #expect(await waitUntil { node.recentEvents.recent(type: "config.reloaded").count == 1 })

            try write(Self.fileYAML.replacingOccurrences(of: "name: reload", with: "name: renamed"), to: file)
            let refused = await node.reload()
            #expect(!refused.applied)
            #expect(refused.reasons.contains { $0.contains("name") })
            #expect(refused.reasons.contains { $0.contains("agents.two") })
            #expect(node.kernel.agent(named: "two") != nil)
            #expect(await waitUntil { node.recentEvents.recent(type: "config.rejected").count == 1 })
            let rejected = node.recentEvents.recent(type: "config.rejected")
            #expect(rejected.first?.data["reasons"]?.arrayValue?.isEmpty == false)

            try write("agents: [", to: file)
            let broken = await node.reload()
            #expect(!broken.applied)
            #expect(await waitUntil { node.recentEvents.recent(type: "config.rejected").count == 2 })
        } catch {
            await node.stop()
            throw error
        }
        await node.stop()
    }

    @Test func aChangedFileIsReloadedByTheWatcher() async throws {
        let dir = makeNodeTempDir()
        let file = (dir as NSString).appendingPathComponent("agentvm.yml")
        try write(Self.fileYAML, to: file)
        let node = try Node(config: try NodeConfig.load(path: file), logger: NodeLogger(level: .error))
        try await node.start()
        // mtime has a granularity; make sure the rewrite is seen as a change.
        try await Task.sleep(for: .milliseconds(20))
        try write(Self.fileYAML + "\n  watched:\n    handler: echo\n", to: file)
        let seen = await waitUntil(.seconds(10)) { node.kernel.agent(named: "watched") != nil }
        #expect(seen)
        let agents = try await call(node, "GET", "/v1/agents")
        #expect(agents.value["agents"]?.arrayValue?.contains { $0["name"]?.stringValue == "watched" } == true)
        await node.stop()
    }
}
