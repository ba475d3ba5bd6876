import AgentVMTestKit
import ChildProcess
import Foundation
import NATSBridge
import Testing
import Transport

@Suite struct ClusterTests {
    @Test func threeServerClusterRoutesMessages() async throws {
        let cluster = try NATSClusterFixture.started(size: 3)
        defer { cluster.stop() }
        let one = try await NATSConnection.connect(testOptions([cluster.servers[0].url], name: "on-1"))
        defer { one.close() }
        let three = try await NATSConnection.connect(testOptions([cluster.servers[2].url], name: "on-3"))
        defer { three.close() }
        let sub = try three.subscribe("cluster.hello")
        try await three.flush(timeout: .seconds(5))
        // Interest propagates over the routes asynchronously: publish until it arrives.
        let publisher = Task {
            while !Task.isCancelled {
                try? one.publish("cluster.hello", payload: Data("from-1"))
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        defer { publisher.cancel() }
        let got = await collect(sub.messages, count: 1, deadline: .seconds(15))
        #expect(got.first?.payload == Data("from-1"))
        #expect(one.connectedURL?.contains(String(cluster.servers[0].port)) == true)
    }
}

@Suite struct FixtureTests {
    @Test func childProcessCapturesOutputAndReportsHowItEnded() throws {
        let dir = try TempDirectory(prefix: "child")
        let ok = try ChildProcess(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], logDirectory: dir.url, name: "sh")
        ok.wait(deadline: .seconds(10))
        #expect(ok.termination == .exited(3))
        #expect(ok.stdoutText() == "out\n")
        #expect(ok.stderrText() == "err\n")

        let sleeper = try ChildProcess(["/bin/sleep", "30"], logDirectory: dir.url, name: "sleep")
        #expect(sleeper.isRunning)
        sleeper.stop(grace: .seconds(5))
        #expect(sleeper.termination == .signaled(SIGTERM))
        #expect(!sleeper.isRunning)
    }

    @Test func serverFixtureStopsAndRestartsOnTheSamePort() throws {
        let server = try NATSServerFixture.started(jetStream: true)
        let port = server.port
        #expect(FreePort.accepts(port))
        #expect(server.monitor("/varz")?.contains("server_id") == true)
        server.stop()
        #expect(!server.isRunning)
        #expect(!FreePort.accepts(port))
        try server.start()
        #expect(server.port == port && FreePort.accepts(port))
        server.kill()
        #expect(!server.isRunning)
    }
}
