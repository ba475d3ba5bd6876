import Foundation
import Gossip
import Synchronization
import Testing
import Transport

/// The shell over the real in-process transport, in real time (deadlines only bound the wait).
@Suite struct GossipNodeTests {
    let fast = GossipSettings(interval: .milliseconds(50), suspectAfter: .milliseconds(400),
                              suspicionMin: .milliseconds(200), suspicionMax: .milliseconds(600))

    func waitUntil(_ deadline: Duration = .seconds(20), _ condition: () async -> Bool) async -> Bool {
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    func status(_ node: GossipNode, of id: NodeID) async -> MemberStatus? {
        await node.member(id)?.status
    }

    @Test func threeNodesSeeEachOtherAndNoticeOneStopping() async throws {
        let bus = InProcessTransport()
        defer { bus.close() }
        let nodes = try ["a", "b", "c"].map { try GossipNode(id: NodeID($0), cluster: "t1", transport: bus, settings: fast) }
        for n in nodes { try await n.start() }
        let all = await waitUntil {
            for n in nodes where await n.members().filter({ $0.status == .alive }).count != 3 { return false }
            return true
        }
        #expect(all)
        if let c = await nodes[0].member("c") {
            let seen = await nodes[0].lastSeenDate(of: c)
            #expect(abs(seen.timeIntervalSinceNow) < 60)
            #expect(c.lifecycle == .up)
        }
        await nodes[2].stop()
        let dead = await waitUntil {
            let a = await status(nodes[0], of: "c"), b = await status(nodes[1], of: "c")
            return a == .dead && b == .dead
        }
        #expect(dead)
        for n in nodes { await n.stop() }
    }

    @Test func restartedNodeComesBackWithAHigherIncarnation() async throws {
        let bus = InProcessTransport()
        defer { bus.close() }
        let a = try GossipNode(id: "a", cluster: "t4", transport: bus, settings: fast)
        let b1 = try GossipNode(id: "b", cluster: "t4", transport: bus, settings: fast, incarnation: 7)
        try await a.start()
        try await b1.start()
        #expect(await waitUntil { await status(a, of: "b") == .alive })
        await b1.stop()
        #expect(await waitUntil { await status(a, of: "b") == .dead })
        // Same incarnation as the old life: it must learn from `a` that that life is over.
        let b2 = try GossipNode(id: "b", cluster: "t4", transport: bus, settings: fast, incarnation: 7)
        try await b2.start()
        #expect(await waitUntil { await status(a, of: "b") == .alive })
        #expect((await a.member("b")?.incarnation ?? 0) > 7)
        await a.stop()
        await b2.stop()
    }

    @Test func leaveIsSeenAsLeftAndChangesAreStreamed() async throws {
        let bus = InProcessTransport()
        defer { bus.close() }
        let a = try GossipNode(id: "a", cluster: "t2", transport: bus, settings: fast)
        let b = try GossipNode(id: "b", cluster: "t2", transport: bus, settings: fast)
        let seen = Mutex<[MemberStatus]>([])
        let watcher = Task {
            for await c in a.changes where c.member.id == "b" {
                seen.withLock { $0.append(c.member.status) }
            }
        }
        try await a.start()
        try await b.start()
        #expect(await waitUntil { await status(a, of: "b") == .alive })
        await b.leave()
        #expect(await waitUntil { await status(a, of: "b") == .left })
        #expect(await waitUntil { seen.withLock { $0.contains(.left) } })
        #expect(!seen.withLock { $0.contains(.dead) })
        await a.stop()
        watcher.cancel()
    }

    @Test func badPayloadsAreDroppedCountedAndLogged() async throws {
        let bus = InProcessTransport()
        defer { bus.close() }
        let lines = Mutex<[String]>([])
        let a = try GossipNode(id: "a", cluster: "t3", transport: bus, settings: fast,
                               log: { line in lines.withLock { $0.append(line) } })
        try await a.start()
        let before = await a.members()
        try bus.publish("agentvm.t3.gossip.node.a", payload: Data("garbage".utf8))
        try bus.publish("agentvm.t3.gossip.announce", payload: Data(#"{"version":9,"sender":"mallory"}"#.utf8))
        #expect(await waitUntil { await a.droppedMessages == 2 })
        #expect(lines.withLock { $0.contains { $0.contains("mallory") } })
        #expect(await a.members().map(\.id) == before.map(\.id))
        await a.stop()
    }

    @Test func invalidNamesAreRejected() {
        let bus = InProcessTransport()
        #expect(throws: GossipNodeError.invalidNodeID("a.b")) { try GossipNode(id: "a.b", cluster: "c", transport: bus) }
        #expect(throws: GossipNodeError.invalidClusterName("c>")) { try GossipNode(id: "a", cluster: "c>", transport: bus) }
    }
}
