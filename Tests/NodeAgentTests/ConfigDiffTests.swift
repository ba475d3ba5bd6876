import Foundation
import Testing
@testable import NodeAgent

@Suite struct ConfigDiffTests {
    static let base = """
    agents:
      a: {handler: echo}
      b: {handler: counter}
    channels:
      c: {type: pubsub}
    tools: [t1]
    node:
      listen: 127.0.0.1:7070
    """

    func config(_ text: String) throws -> NodeConfig { try NodeConfig.parse(text) }

    @Test func identicalConfigsHaveNoChanges() throws {
        let c = NodeConfig.diff(try config(Self.base), try config(Self.base))
        #expect(c.isEmpty && !c.isBreaking)
        #expect(c.description == "no changes")
    }

    @Test func agentsChannelsAndToolsAreNonBreaking() throws {
        let new = """
        agents:
          a: {handler: echo, replicas: 2}
          b: {handler: counter}
          d: {handler: echo}
        channels:
          c: {type: pubsub, historyLimit: 5}
          e: {type: queue}
        tools: [t2]
        node:
          listen: 127.0.0.1:7070
          logLevel: debug
        maxProcesses: 5
        """
        let c = NodeConfig.diff(try config(Self.base), try config(new))
        #expect(!c.isBreaking)
        #expect(c.agentsAdded == ["d"])
        #expect(c.agentsChanged == ["a"])
        #expect(c.channelsAdded == ["e"])
        #expect(c.channelsChanged == ["c"])
        #expect(c.toolsAdded == ["t2"] && c.toolsRemoved == ["t1"])
        #expect(Set(c.items.map(\.path)) == ["agents.a", "agents.d", "channels.c", "channels.e", "tools", "node.logLevel", "maxProcesses"])
    }

    @Test func nodeMemoryClusterAndChannelChangesAreBreakingWithReasons() throws {
        let new = """
        agents:
          a: {handler: echo}
        channels:
          c: {type: queue}
        tools: [t1]
        memory: {backend: memory}
        node:
          listen: 127.0.0.1:8080
          id: other
          data: elsewhere
        cluster:
          nats: [nats://127.0.0.1:4222]
        """
        let c = NodeConfig.diff(try config(Self.base), try config(new))
        #expect(c.isBreaking)
        #expect(Set(c.breaking.map(\.path)) == [
            "channels.c.type", "memory.backend", "node.listen", "node.id", "node.data", "cluster", "agents.b",
        ])
        #expect(c.agentsRemoved == ["b"])
        #expect(c.breaking.first { $0.path == "node.listen" }?.reason.contains("127.0.0.1:8080") == true)
        #expect(c.breaking.first { $0.path == "channels.c.type" }?.reason.contains("pubsub to queue") == true)
    }

    @Test func removingAChannelIsBreaking() throws {
        let new = Self.base.replacingOccurrences(of: "channels:\n  c: {type: pubsub}\n", with: "")
        let c = NodeConfig.diff(try config(Self.base), try config(new))
        #expect(c.channelsRemoved == ["c"])
        #expect(c.breaking.map(\.path) == ["channels.c"])
    }
}
