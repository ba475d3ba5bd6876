import Gossip
import Testing

/// Values a peer controls must never trap the core.
@Suite struct HostileInputTests {
    @Test func refutingAMaximalIncarnationSaturatesInsteadOfTrapping() {
        var core = GossipMembership(id: "a", incarnation: 4)
        let accusation = MemberDigest(id: "a", incarnation: .max, heartbeat: 0, status: .suspect, health: MemberHealth())
        let bob = MemberDigest(id: "b", incarnation: 1, heartbeat: 1, status: .alive, health: MemberHealth())
        _ = core.receive(GossipMessage(kind: .digest, sender: "b", entries: [bob, accusation]), from: "b", now: .zero)
        #expect(core.incarnation == .max)
        _ = core.receive(GossipMessage(kind: .digest, sender: "b", entries: [bob, accusation]), from: "b", now: .seconds(1))
        #expect(core.incarnation == .max)
    }
}
