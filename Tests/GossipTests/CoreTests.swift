import AgentVMTestKit
import Gossip
import Testing

/// The bare core, driven by hand with fixed nodes and no network, as swift-cluster-membership's tests do.
@Suite struct CoreTests {
    func digest(_ id: NodeID, inc: UInt64 = 0, hb: UInt64 = 1, _ status: MemberStatus = .alive) -> MemberDigest {
        MemberDigest(id: id, incarnation: inc, heartbeat: hb, status: status, health: MemberHealth())
    }

    func changes(_ ds: [GossipDirective]) -> [MemberChange] {
        ds.compactMap { if case .memberChanged(let c) = $0 { return c } else { return nil } }
    }

    @Test func lonelyNodeBroadcastsJoinAndSchedulesNextTick() {
        var core = GossipMembership(id: "a")
        var rng = SeededRandom(seed: 1)
        let out = core.tick(now: .zero, using: &rng)
        #expect(out.contains { if case .broadcast(let m) = $0 { return m.kind == .join } else { return false } })
        #expect(out.last == .scheduleTick(after: core.settings.interval))
        #expect(core.heartbeat == 1)
        #expect(core.lifecycle == .joining)
    }

    @Test func mergeTakesTheMaximum() {
        var core = GossipMembership(id: "a")
        _ = core.receive(GossipMessage(kind: .digest, sender: "b", entries: [digest("b", inc: 1, hb: 5)]), from: "b", now: .zero)
        _ = core.receive(GossipMessage(kind: .digest, sender: "c", entries: [digest("b", inc: 1, hb: 3)]), from: "c", now: .zero)
        #expect(core.member("b")?.heartbeat == 5)
        _ = core.receive(GossipMessage(kind: .digest, sender: "c", entries: [digest("b", inc: 2, hb: 1)]), from: "c", now: .zero)
        #expect(core.member("b")?.incarnation == 2)
        #expect(core.member("b")?.heartbeat == 1)
        _ = core.receive(GossipMessage(kind: .digest, sender: "c", entries: [digest("b", inc: 1, hb: 99, .dead)]), from: "c", now: .zero)
        #expect(core.member("b")?.status == .alive, "an older incarnation never wins")
        #expect(core.lifecycle == .up)
    }

    @Test func suspicionOfSelfIsRefutedWithAHigherIncarnation() {
        var core = GossipMembership(id: "a", incarnation: 4)
        let out = core.receive(GossipMessage(kind: .digest, sender: "b", entries: [digest("b"), digest("a", inc: 4, hb: 0, .suspect)]),
                               from: "b", now: .zero)
        #expect(core.incarnation == 5)
        #expect(core.localHealth == 1)
        #expect(out.contains { if case .send(to: "b", let m) = $0 { return m.entries.first?.incarnation == 5 } else { return false } })
    }

    @Test func silentPeerGoesSuspectThenDeadAndStaysDownUntilANewIncarnation() {
        var core = GossipMembership(id: "a")
        var rng = SeededRandom(seed: 2)
        let s = core.settings
        _ = core.receive(GossipMessage(kind: .digest, sender: "b", entries: [digest("b")]), from: "b", now: .zero)
        var seen: [MemberStatus] = []
        var t = Duration.zero
        var hb: UInt64 = 1
        while t < .seconds(5) {
            t += s.interval
            hb += 1  // c keeps talking, so a is not deaf; only b went silent
            _ = core.receive(GossipMessage(kind: .digest, sender: "c", entries: [digest("c", hb: hb)]), from: "c", now: t)
            seen += changes(core.tick(now: t, using: &rng)).filter { $0.member.id == "b" }.map(\.member.status)
        }
        #expect(seen == [.suspect, .dead])
        // Same incarnation, newer heartbeat: still dead.
        _ = core.receive(GossipMessage(kind: .digest, sender: "b", entries: [digest("b", hb: 50)]), from: "b", now: t)
        #expect(core.member("b")?.status == .dead)
        // And the sender is told it is dead, so it can refute.
        let out = core.receive(GossipMessage(kind: .digest, sender: "b", entries: [digest("b", hb: 51)]), from: "b", now: t)
        #expect(out.contains { if case .send(to: "b", let m) = $0 { return m.entries.contains { $0.id == "b" && $0.status == .dead } } else { return false } })
        let back = changes(core.receive(GossipMessage(kind: .digest, sender: "b", entries: [digest("b", inc: 1)]), from: "b", now: t))
        #expect(back.first?.isNewLife == true)
        #expect(back.first?.member.lifecycle == .up)
    }

    @Test func lateTickRaisesLocalHealthAndAccusesNobody() {
        var core = GossipMembership(id: "a")
        var rng = SeededRandom(seed: 3)
        _ = core.receive(GossipMessage(kind: .digest, sender: "b", entries: [digest("b")]), from: "b", now: .zero)
        _ = core.tick(now: .milliseconds(100), using: &rng)
        let out = core.tick(now: .seconds(10), using: &rng)
        #expect(changes(out).isEmpty)
        #expect(core.localHealth == 1)
        #expect(core.member("b")?.status == .alive)
    }

    @Test func confirmationsShortenTheSuspicionPeriod() {
        let s = GossipSettings()
        #expect(s.suspicionPeriod(confirmations: 0, clusterSize: 5) == s.suspicionMax)
        #expect(s.suspicionPeriod(confirmations: 3, clusterSize: 5) == s.suspicionMin)
        #expect(s.suspicionPeriod(confirmations: 1, clusterSize: 5) < s.suspicionMax)
        #expect(s.suspectAfter(clusterSize: 1000) > s.suspectAfter(clusterSize: 5))
    }

    @Test func leaveBroadcastsLeftAndStops() {
        var core = GossipMembership(id: "a")
        var rng = SeededRandom(seed: 4)
        let out = core.leave(now: .zero)
        #expect(out.contains { if case .broadcast(let m) = $0 { return m.kind == .leave && m.entries.first?.status == .left } else { return false } })
        #expect(core.lifecycle == .leaving)
        #expect(core.tick(now: .seconds(1), using: &rng).isEmpty)
    }

    @Test func digestIsBoundedAndLeadsWithSelf() {
        var core = GossipMembership(id: "a", settings: GossipSettings(maxDigestEntries: 10))
        var rng = SeededRandom(seed: 5)
        let many = (0..<50).map { digest(NodeID("p\($0)")) }
        _ = core.receive(GossipMessage(kind: .digest, sender: "p0", entries: many), from: "p0", now: .zero)
        for d in core.tick(now: .milliseconds(10), using: &rng) {
            if case .send(_, let m) = d {
                #expect(m.entries.count == 10)
                #expect(m.entries.first?.id == "a")
            }
        }
    }
}
