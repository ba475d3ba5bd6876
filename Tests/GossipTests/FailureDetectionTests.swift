import AgentVMTestKit
import Gossip
import Testing

@Suite struct FailureDetectionTests {
    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func killedNodeIsDeclaredDeadByEveryoneWithinTheBound(seed: UInt64) {
        var sim = convergedCluster(seed: seed)
        let bound = sim.settings.detectionBound(clusterSize: 5)
        #expect(bound <= .seconds(3), "defaults must detect within 3 s, bound is \(bound)")
        sim.kill("n3")
        let took = sim.run(until: { $0.allRunning(see: "n3", as: .dead) }, timeout: .seconds(30), step: .milliseconds(10))
        #expect(took != nil)
        if let took { #expect(took <= bound, "took \(took), bound \(bound)") }
        for other in sim.ids where other != "n3" {
            #expect(declarations(of: other, as: .dead, in: sim.changes).isEmpty, "\(other) falsely declared dead")
        }
        expectForwardOnly(sim.changes)
    }

    @Test func partitionedMinorityIsSuspectedAndRejoinsWithAHigherIncarnation() {
        var sim = convergedCluster(seed: 21)
        let majority: [NodeID] = ["n0", "n1", "n2"], minority: [NodeID] = ["n3", "n4"]
        let before = minority.map { sim.member($0, seenBy: "n0")?.incarnation ?? 0 }
        sim.partition(minority, from: majority)
        let suspected = sim.run(until: { s in
            majority.allSatisfy { o in minority.allSatisfy { (s.member($0, seenBy: o)?.status ?? .alive) != .alive } }
        }, timeout: .seconds(10))
        #expect(suspected != nil)
        for m in minority {
            for o in majority {
                #expect(sim.changes.contains { $0.observer == o && $0.change.member.id == m && $0.change.member.status == .suspect })
            }
        }
        // The two sides stay apart long enough to declare each other dead, then heal.
        sim.run(for: .seconds(10))
        #expect(sim.member("n3", seenBy: "n0")?.status == .dead)
        sim.heal()
        let healed = sim.run(until: { $0.isConverged }, timeout: .seconds(20))
        #expect(healed != nil)
        for (m, old) in zip(minority, before) {
            for o in majority {
                let now = sim.member(m, seenBy: o)
                #expect(now?.status == .alive)
                #expect((now?.incarnation ?? 0) > old, "\(m) seen by \(o) should have a higher incarnation than \(old)")
            }
        }
        #expect(sim.changes.contains { $0.observer == "n0" && $0.change.member.id == "n3" && $0.change.isNewLife })
        expectForwardOnly(sim.changes)
    }

    @Test func deafNodeCannotGetHealthyNodesDeclaredDead() {
        var sim = convergedCluster(seed: 31)
        // Asymmetric partition: n4 still sends but hears nothing, so it suspects everybody and
        // says so. Its accusations meet fresh heartbeats and refutations, never a death.
        let healthy: [NodeID] = ["n0", "n1", "n2", "n3"]
        for o in healthy { sim.network.block(from: o, to: "n4") }
        sim.run(for: .seconds(2))
        #expect((sim.core("n4")?.localHealth ?? 0) > 0, "a node that hears nothing should blame itself first")
        sim.run(for: .seconds(60))
        for h in healthy {
            let d = declarations(of: h, as: .dead, in: sim.changes).filter { $0.observer != "n4" }
            #expect(d.isEmpty, "\(h) declared dead: \(d.prefix(2))")
            #expect(sim.member(h, seenBy: "n0")?.status == .alive)
        }
        sim.heal()
        #expect(sim.run(until: { $0.isConverged }, timeout: .seconds(30)) != nil)
    }

    @Test func tenPercentLossCausesNoFalseDeathOverTenMinutes() {
        var sim = convergedCluster(seed: 77, conditions: LinkConditions(loss: 0.10, delay: .milliseconds(1) ... .milliseconds(20)))
        sim.run(for: .seconds(600))
        let deaths = sim.changes.filter { $0.change.member.status == .dead }
        #expect(deaths.isEmpty, "false deaths: \(deaths.prefix(3))")
        #expect(sim.isConverged)
        // Detection still works under that loss.
        sim.kill("n1")
        #expect(sim.run(until: { $0.allRunning(see: "n1", as: .dead) }, timeout: .seconds(10)) != nil)
    }

    @Test func slowNodeDoesNotGetHealthyNodesDeclaredDead() {
        var sim = convergedCluster(seed: 5)
        sim.slow("n0", factor: 6)
        sim.run(for: .seconds(120))
        for healthy in sim.ids where healthy != "n0" {
            let d = declarations(of: healthy, as: .dead, in: sim.changes)
            #expect(d.isEmpty, "\(healthy) declared dead: \(d.prefix(2))")
        }
        #expect((sim.core("n0")?.stats.lateTicks ?? 0) > 0)
        #expect((sim.core("n0")?.localHealth ?? 0) > 0, "a stalled node should raise its local health multiplier")
        sim.slow("n0", factor: 1)
        #expect(sim.run(until: { $0.isConverged }, timeout: .seconds(20)) != nil)
        #expect(sim.run(until: { $0.core("n0")?.localHealth == 0 }, timeout: .seconds(10)) != nil)
    }

    @Test func gracefulLeaveIsLeftNotDead() {
        var sim = convergedCluster(seed: 8)
        sim.leave("n2")
        #expect(sim.run(until: { $0.allRunning(see: "n2", as: .left) }, timeout: .seconds(5)) != nil)
        sim.run(for: .seconds(10))
        #expect(declarations(of: "n2", as: .dead, in: sim.changes).isEmpty)
        #expect(declarations(of: "n2", as: .suspect, in: sim.changes).isEmpty)
        #expect(sim.member("n2", seenBy: "n0")?.lifecycle == .down)
        // After the retention time it is pruned: removed, not in any view.
        sim.run(for: sim.settings.deadRetention + .seconds(2))
        #expect(sim.member("n2", seenBy: "n0") == nil)
        #expect(sim.changes.contains { $0.observer == "n1" && $0.change.member.id == "n2" && $0.change.member.lifecycle == .removed })
        expectForwardOnly(sim.changes)
    }

    @Test func restartedNodeIsANewLife() {
        var sim = convergedCluster(seed: 13)
        let old = sim.member("n1", seenBy: "n0")?.incarnation ?? 0
        sim.kill("n1")
        #expect(sim.run(until: { $0.allRunning(see: "n1", as: .dead) }, timeout: .seconds(10)) != nil)
        sim.restart("n1")  // incarnation 0 again: it must learn that its old life ended
        #expect(sim.run(until: { $0.isConverged }, timeout: .seconds(10)) != nil)
        #expect((sim.member("n1", seenBy: "n0")?.incarnation ?? 0) > old)
        #expect(sim.changes.contains { $0.observer == "n0" && $0.change.member.id == "n1" && $0.change.isNewLife })
        expectForwardOnly(sim.changes)
    }

    @Test func restartAfterPruningIsANewLife() {
        var sim = convergedCluster(seed: 14)
        sim.kill("n4")
        sim.run(for: sim.settings.deadRetention + .seconds(5))
        #expect(sim.member("n4", seenBy: "n0") == nil)
        sim.restart("n4")
        #expect(sim.run(until: { $0.isConverged }, timeout: .seconds(10)) != nil)
    }
}
