import Testing
import Foundation
@testable import NodeAgent

@Suite struct ConfigAllowRemoteTests {
    @Test func remoteListeningIsOffUnlessSaid() throws {
        #expect(try NodeConfig.parse("").node.allowRemote == false)
        let on = try NodeConfig.parse("node:\n  listen: 0.0.0.0:7070\n  allowRemote: true\n")
        #expect(on.node.allowRemote)
        #expect(on.node.listen == "0.0.0.0:7070")
    }

    @Test func changingItIsBreaking() throws {
        let a = try NodeConfig.parse("")
        let b = try NodeConfig.parse("node:\n  allowRemote: true\n")
        #expect(NodeConfig.diff(a, b).isBreaking)
    }

    @Test func aNodeOnANonLoopbackAddressWithoutItDoesNotStart() async throws {
        let config = try NodeConfig.parse("node:\n  listen: 0.0.0.0:0\n")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("avm-remote-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = config
        c.node.data = dir.path
        let node = try Node(config: c)
        await #expect(throws: (any Error).self) { try await node.start() }
        await node.stop()
    }
}
