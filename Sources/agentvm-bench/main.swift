import AgentVMTestKit
import Gossip
import Foundation
let n = Int(CommandLine.arguments.dropFirst().first ?? "100") ?? 100
var sim = GossipSimulation(nodes: n, seed: 1, bootstrap: .randomSeeds(3), recordChanges: false)
let t0 = Date()
for r in 0..<60 {
    sim.run(for: .milliseconds(200))
    if r % 5 == 0 {
        let c = sim.ids.prefix(3).map { sim.core($0)!.clusterSize }
        let sus = sim.ids.reduce(0) { $0 + sim.core($1)!.stats.suspicionsRaised }
        let refs = sim.ids.reduce(0) { $0 + sim.core($1)!.stats.refutations }
        FileHandle.standardError.write("round \(r) t=\(Date().timeIntervalSince(t0)) sizes=\(c) conv=\(sim.isConverged) sus=\(sus) refs=\(refs) sent=\(sim.messagesSent)\n".data(using: .utf8)!)
    }
}
