import AgentVMTestKit
import Testing

/// The simulator's network on its own, with plain addresses and messages (it is generic).
@Suite struct SimulatedNetworkTests {
    func drain(_ net: inout SimulatedNetwork<Int, String>) -> [(Duration, Int, String)] {
        var out: [(Duration, Int, String)] = []
        while let (at, d) = net.nextDelivery(notAfter: .seconds(3600)) { out.append((at, d.to, d.message)) }
        return out
    }

    @Test func deliversInTimeOrderWithinTheDelayRange() {
        var net = SimulatedNetwork<Int, String>(conditions: LinkConditions(delay: .milliseconds(10) ... .milliseconds(50)))
        var rng = SeededRandom(seed: 1)
        for i in 0..<100 { net.send("m\(i)", from: 0, to: 1, at: .zero, using: &rng) }
        let got = drain(&net)
        #expect(got.count == 100)
        #expect(zip(got, got.dropFirst()).allSatisfy { $0.0 <= $1.0 })
        #expect(got.allSatisfy { $0.0 >= .milliseconds(10) && $0.0 <= .milliseconds(50) })
    }

    @Test func lossAndDuplicationFollowTheirProbabilities() {
        var net = SimulatedNetwork<Int, String>(conditions: LinkConditions(loss: 0.1, duplication: 0.2))
        var rng = SeededRandom(seed: 2)
        for _ in 0..<10_000 { net.send("x", from: 0, to: 1, at: .zero, using: &rng) }
        _ = drain(&net)
        #expect((800...1200).contains(net.stats.lost))
        #expect((1500...2100).contains(net.stats.duplicated))
        #expect(net.stats.delivered == 10_000 - net.stats.lost + net.stats.duplicated)
    }

    @Test func asymmetricPartitionCutsOneDirectionAndInFlightMessages() {
        var net = SimulatedNetwork<Int, String>()
        var rng = SeededRandom(seed: 3)
        net.send("early", from: 0, to: 1, at: .zero, using: &rng)
        net.block(from: 0, to: 1)
        net.send("late", from: 0, to: 1, at: .zero, using: &rng)
        net.send("back", from: 1, to: 0, at: .zero, using: &rng)
        #expect(drain(&net).map(\.2) == ["back"])
        #expect(net.stats.blocked == 2)
        net.heal()
        net.send("again", from: 0, to: 1, at: .zero, using: &rng)
        #expect(drain(&net).map(\.2) == ["again"])
    }

    @Test func perLinkConditionsOverrideTheDefault() {
        var net = SimulatedNetwork<Int, String>()
        var rng = SeededRandom(seed: 4)
        net.setConditions(LinkConditions(loss: 1), from: 0, to: 2)
        net.send("a", from: 0, to: 1, at: .zero, using: &rng)
        net.send("b", from: 0, to: 2, at: .zero, using: &rng)
        #expect(drain(&net).map(\.2) == ["a"])
    }

    @Test func manualClockMovesOnlyForward() {
        let clock = ManualClock()
        clock.advance(by: .seconds(2))
        clock.advance(to: .seconds(1))
        clock.advance(by: .seconds(-5))
        #expect(clock.now == .seconds(2))
    }
}
