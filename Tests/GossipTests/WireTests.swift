import Foundation
import Gossip
import Testing

@Suite struct WireTests {
    let sample = GossipMessage(kind: .digest, sender: "a", entries: [
        MemberDigest(id: "a", incarnation: 3, heartbeat: 9, status: .alive,
                     health: MemberHealth(processCount: 2, queueDepth: 1, cpu: 0.5, memoryBytes: 1 << 20,
                                          version: "0.1.0", apiAddress: "http://127.0.0.1:7070", labels: ["zone": "a"])),
        MemberDigest(id: "b", incarnation: 1, heartbeat: 4, status: .suspect, health: MemberHealth()),
    ])

    @Test func roundTrips() throws {
        let data = try sample.encode()
        #expect(try GossipMessage.decode(data, from: "test").get() == sample)
    }

    @Test func garbageIsMalformed() {
        guard case .failure(.malformed(let peer, _)) = GossipMessage.decode(Data("not json".utf8), from: "agentvm.c.gossip.node.x") else {
            Issue.record("expected malformed")
            return
        }
        #expect(peer == "agentvm.c.gossip.node.x")
    }

    @Test func missingFieldIsMalformedAndNamesFieldAndSender() {
        let json = #"{"version":1,"kind":"digest","sender":"evil"}"#
        guard case .failure(.malformed(let peer, let reason)) = GossipMessage.decode(Data(json.utf8), from: "subj") else {
            Issue.record("expected malformed")
            return
        }
        #expect(peer.contains("evil"))
        #expect(reason.contains("entries"))
    }

    @Test func badStatusOrNodeIDIsMalformed() {
        let badStatus = #"{"version":1,"kind":"digest","sender":"a","entries":[{"id":"a","incarnation":1,"heartbeat":1,"status":"zombie","health":{"processCount":0,"queueDepth":0,"cpu":0,"memoryBytes":0,"version":"","apiAddress":"","labels":{}}}]}"#
        let badID = #"{"version":1,"kind":"digest","sender":"a.b","entries":[]}"#
        let negative = #"{"version":1,"kind":"digest","sender":"a","entries":[{"id":"a","incarnation":-1,"heartbeat":1,"status":"alive","health":{"processCount":0,"queueDepth":0,"cpu":0,"memoryBytes":0,"version":"","apiAddress":"","labels":{}}}]}"#
        for json in [badStatus, badID, negative] {
            guard case .failure(.malformed) = GossipMessage.decode(Data(json.utf8), from: "p") else {
                Issue.record("expected malformed for \(json)")
                continue
            }
        }
    }

    @Test func oversizedIsRejectedBeforeParsing() {
        let limits = GossipLimits(maxMessageBytes: 100)
        let data = Data(repeating: 0x7B, count: 101)
        #expect(GossipMessage.decode(data, from: "p", limits: limits) == .failure(.oversized(peer: "p", size: 101, limit: 100)))
    }

    @Test func tooManyEntriesIsMalformed() throws {
        var m = sample
        m.entries = Array(repeating: sample.entries[1], count: 5)
        let r = GossipMessage.decode(try m.encode(), from: "p", limits: GossipLimits(maxEntries: 4))
        guard case .failure(.malformed) = r else {
            Issue.record("expected malformed, got \(r)")
            return
        }
    }

    @Test func wrongVersionIsRejected() throws {
        var m = sample
        m.version = 2
        let r = GossipMessage.decode(try m.encode(), from: "subj")
        #expect(r == .failure(.wrongVersion(peer: "a via subj", version: 2, supported: 1)))
        if case .failure(let e) = r { #expect(e.description.contains("a via subj")) }
    }

    @Test func badMessageDoesNotChangeTheView() {
        var core = GossipMembership(id: "me")
        var rng = SystemRandomNumberGenerator()
        _ = core.tick(now: .zero, using: &rng)
        let before = core.members
        if case .success(let m) = GossipMessage.decode(Data("{}".utf8), from: "x") {
            _ = core.receive(m, from: m.sender, now: .seconds(1))
        }
        #expect(core.members == before)
    }
}
