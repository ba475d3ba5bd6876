import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

@Suite("NodeDaemon: config precedence")
struct NodeDaemonTests {
    @Test func flagsWinOverEnvironmentWhichWinsOverTheFile() throws {
        let dir = makeNodeTempDir()
        let file = (dir as NSString).appendingPathComponent("agentvm.yml")
        try Data("node:\n  listen: 127.0.0.1:7001\n  data: state\n  token: from-file\n".utf8).write(to: URL(fileURLWithPath: file))
        let env = ["AGENTVM_NODE_LISTEN": "127.0.0.1:7002", "AGENTVM_TOKEN": "from-env"]
        let fileOnly = try NodeDaemon.loadConfig(NodeStartOptions(configPath: file), environment: [:])
        #expect(fileOnly.node.listen == "127.0.0.1:7001")
        #expect(fileOnly.node.data == (dir as NSString).appendingPathComponent("state"))
        let withEnv = try NodeDaemon.loadConfig(NodeStartOptions(configPath: file), environment: env)
        #expect(withEnv.node.listen == "127.0.0.1:7002")
        #expect(withEnv.node.token == "from-env")
        let withFlags = try NodeDaemon.loadConfig(
            NodeStartOptions(configPath: file, dataDir: "/tmp/x", listen: "127.0.0.1:0", nodeID: "n1", token: "from-flag"),
            environment: env)
        #expect(withFlags.node.listen == "127.0.0.1:0")
        #expect(withFlags.node.data == "/tmp/x")
        #expect(withFlags.node.id == "n1")
        #expect(withFlags.node.token == "from-flag")
        #expect(withFlags.cluster == nil)
        let clustered = try NodeDaemon.loadConfig(NodeStartOptions(configPath: file, nats: ["nats://127.0.0.1:4333"], cluster: "c"),
                                                  environment: [:])
        #expect(clustered.cluster?.nats == ["nats://127.0.0.1:4333"])
        #expect(clustered.cluster?.name == "c")
    }

    @Test func badFlagsAndBadFilesReportEveryIssue() throws {
        let dir = makeNodeTempDir()
        let file = (dir as NSString).appendingPathComponent("agentvm.yml")
        try Data("agents:\n  a:\n    handler: ecko\n  b:\n    handler: echo\n    replicas: -1\n".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: ConfigErrors.self) { try NodeDaemon.loadConfig(NodeStartOptions(configPath: file), environment: [:]) }
        do {
            _ = try NodeDaemon.loadConfig(NodeStartOptions(configPath: file), environment: [:])
        } catch {
            #expect(error.issues.count >= 2)
            #expect(error.description.contains("agentvm.yml:3"))
        }
        do {
            _ = try NodeDaemon.loadConfig(NodeStartOptions(configPath: "/nonexistent/agentvm.yml", listen: "nowhere"), environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("no such file"))
        }
        do {
            _ = try NodeDaemon.loadConfig(NodeStartOptions(listen: "nowhere", nodeID: "a b"), environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.issues.count == 2)
            #expect(error.description.contains("--listen"))
            #expect(error.description.contains("--node-id"))
        }
    }

    @Test func daemonReturnsNonZeroOnABadConfigWithoutStarting() async throws {
        let dir = makeNodeTempDir()
        let file = (dir as NSString).appendingPathComponent("agentvm.yml")
        try Data("maxProcesses: lots\n".utf8).write(to: URL(fileURLWithPath: file))
        let code = await NodeDaemon.run(NodeStartOptions(configPath: file, dataDir: (dir as NSString).appendingPathComponent("data")))
        #expect(code != 0)
        #expect(!FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("data/node.json")))
    }
}
