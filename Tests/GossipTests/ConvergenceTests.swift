import AgentVMTestKit
import Gossip
import Testing

@Suite struct ConvergenceTests {
    @Test func fiveNodesConvergeToTheSameView() {
        var sim = GossipSimulation(nodes: 5, seed: 11)
        let took = sim.run(until: { $0.isConverged }, timeout: .seconds(10))
        #expect(took != nil)
        let views = sim.ids.map { id in sim.core(id)?.members.map { "\($0.id)@\($0.incarnation):\($0.status)" } ?? [] }
        #expect(Set(views.map { $0.joined(separator: ",") }).count == 1, "views differ: \(views)")
        #expect(views.first?.count == 5)
        for id in sim.ids { #expect(sim.core(id)?.lifecycle == .up) }
        expectForwardOnly(sim.changes)
    }

    @Test func seededNodesConvergeWithoutBroadcasts() {
        var sim = GossipSimulation(nodes: 40, seed: 5, bootstrap: .randomSeeds(2))
        #expect(sim.run(until: { $0.isConverged }, timeout: .seconds(30)) != nil)
    }

    @Test func sameSeedSameRun() {
        func trace(_ seed: UInt64) -> [String] {
            var sim = GossipSimulation(nodes: 5, seed: seed, conditions: LinkConditions(loss: 0.2))
            sim.run(for: .seconds(5))
            sim.kill("n2")
            sim.run(for: .seconds(5))
            return sim.changes.map { "\($0.at) \($0.observer) \($0.change.member.id) \($0.change.member.status)" }
        }
        #expect(trace(42) == trace(42))
        #expect(trace(42) != trace(43))
    }

    @Test func duplicatedAndReorderedMessagesStillConverge() {
        let c = LinkConditions(loss: 0.05, delay: .milliseconds(1) ... .milliseconds(300), duplication: 0.3)
        var sim = GossipSimulation(nodes: 5, seed: 9, conditions: c)
        #expect(sim.run(until: { $0.isConverged }, timeout: .seconds(10)) != nil)
        sim.run(for: .seconds(60))
        #expect(sim.isConverged)
        #expect(declarations(of: "n0", as: .dead, in: sim.changes).isEmpty)
    }

    @Test func messagesPerNodeDoNotGrowWithClusterSize() {
        func perNodePerSecond(_ n: Int) -> Double {
            var sim = GossipSimulation(nodes: n, seed: 3, bootstrap: .randomSeeds(3), recordChanges: false)
            #expect(sim.run(until: { $0.isConverged }, timeout: .seconds(30)) != nil)
            let before = sim.messagesSent
            sim.run(for: .seconds(10))
            return Double(sim.messagesSent - before) / Double(n) / 10
        }
        let small = perNodePerSecond(8), large = perNodePerSecond(64)
        let ceiling = Double(GossipSettings().fanout) / 0.2 + 1  // fanout per round, plus one reconnect per second
        #expect(small <= ceiling && large <= ceiling, "\(small) and \(large) msgs/node/s")
        #expect(abs(large - small) < 1)
    }
}
