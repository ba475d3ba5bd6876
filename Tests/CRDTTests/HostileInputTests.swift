import Foundation
import Testing
@testable import CRDT

/// Counters a peer controls reach UInt64.max; nothing may trap on them.
@Suite struct CRDTHostileInputTests {
    @Test func contextWithMaximalCountersDecodesAndHandsOutDots() throws {
        let max = UInt64.max
        // "a":5 sits in the cloud when b's dot at max joins b's compact max-1: the join must stop at max.
        let json = #"{"vv":{"entries":{"b":\#(max - 1)}},"cloud":[["a",5],["b",\#(max)]]}"#
        let context = try CRDTCoding.decode(CausalContext.self, from: Data(json.utf8))
        #expect(context.contains(Dot("b", max)))
        #expect(context.nextDot("b") == Dot("b", max))
    }

    @Test func deltasAtTheMaximalSequenceDoNotTrap() {
        var r = TestReplicator(me: "a", epoch: 1)
        let message = ReplicationMessage<Value>(.deltas(epoch: 1, from: 1, to: .max, last: true, entries: [:]))
        _ = r.receive(message, from: "b", now: 0)
        let out = r.receive(message, from: "b", now: 1)
        #expect(!out.contains { if case .rejected = $0 { return true } else { return false } })
    }
}
