import Foundation
import AgentVMTestKit
import Gossip

/// The simulator half of `agentvm-bench gossip`: N nodes of the pure core on a simulated LAN,
/// in virtual time. Prints `NAME VALUE` lines for 100 and 1,000 nodes, so the two can be compared:
/// messages per node per second must not grow with N.
enum GossipSimBench {
    struct Figures {
        var convergenceRounds: Double
        var detectMs: Double
        var detectBoundMs: Double
        var msgsPerNodePerSecond: Double
        var falseSuspicions: Int
        var falseDeaths: Int
    }

    static func run() {
        for n in [100, 1000] {
            let f = measure(nodes: n)
            print("sim\(n)_convergence_rounds \(format(f.convergenceRounds))")
            print("sim\(n)_detect_ms \(format(f.detectMs))")
            print("sim\(n)_detect_bound_ms \(format(f.detectBoundMs))")
            print("sim\(n)_msgs_per_node_per_s \(format(f.msgsPerNodePerSecond))")
            print("sim\(n)_false_suspicions \(f.falseSuspicions)")
            print("sim\(n)_false_deaths \(f.falseDeaths)")
        }
    }

    /// Nodes start knowing 3 random seeds each; convergence is every node seeing every node alive.
    static func measure(nodes n: Int, seed: UInt64 = 1) -> Figures {
        let settings = GossipSettings()
        var sim = GossipSimulation(nodes: n, settings: settings, seed: seed, bootstrap: .randomSeeds(3), recordChanges: false)
        let interval = settings.interval
        let converged = sim.run(until: { $0.isConverged }, timeout: .seconds(300), step: interval) ?? .seconds(300)

        // Steady state: count the messages and any suspicion of a live member.
        let suspicionsBefore = totalSuspicions(sim)
        let sentBefore = sim.messagesSent
        let window = Duration.seconds(5)
        sim.run(for: window)
        let perNodePerSecond = Double(sim.messagesSent - sentBefore) / Double(n) / seconds(window)
        let falseSuspicions = totalSuspicions(sim) - suspicionsBefore

        let victim = sim.ids[n / 2]
        sim.kill(victim)
        let detected = sim.run(until: { $0.allRunning(see: victim, as: .dead) }, timeout: .seconds(120),
                               step: interval / 4) ?? .seconds(120)
        let falseDeaths = sim.ids.filter { $0 != victim && sim.member($0, seenBy: sim.ids[0])?.status == .dead }.count
        return Figures(convergenceRounds: (seconds(converged) / seconds(interval)).rounded(.up),
                       detectMs: seconds(detected) * 1000,
                       detectBoundMs: seconds(settings.detectionBound(clusterSize: n)) * 1000,
                       msgsPerNodePerSecond: perNodePerSecond,
                       falseSuspicions: falseSuspicions, falseDeaths: falseDeaths)
    }

    static func totalSuspicions(_ sim: GossipSimulation) -> Int {
        sim.ids.reduce(0) { $0 + (sim.core($1)?.stats.suspicionsRaised ?? 0) }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%.2f", v)
    }
}
