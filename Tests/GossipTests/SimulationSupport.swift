import AgentVMTestKit
import Gossip
import Testing

/// A 5-node cluster that has already converged.
func convergedCluster(nodes: Int = 5, seed: UInt64, conditions: LinkConditions = .lan,
                      settings: GossipSettings = GossipSettings()) -> GossipSimulation {
    var sim = GossipSimulation(nodes: nodes, settings: settings, seed: seed, conditions: conditions)
    let took = sim.run(until: { $0.isConverged }, timeout: .seconds(30))
    #expect(took != nil, "cluster of \(nodes) did not converge (seed \(seed))")
    return sim
}

/// Every observer's lifecycle for every member only moves forward, except when a new life begins.
func expectForwardOnly(_ changes: [GossipSimulation.ObservedChange], sourceLocation: SourceLocation = #_sourceLocation) {
    var last: [String: MemberLifecycle] = [:]
    for c in changes {
        let key = "\(c.observer)->\(c.change.member.id)"
        let now = c.change.member.lifecycle
        if let before = last[key], !c.change.isNewLife {
            #expect(before <= now, "\(key) went \(before) -> \(now) at \(c.at)", sourceLocation: sourceLocation)
        }
        last[key] = now
    }
}

/// Changes where some observer declared `target` with `status`.
func declarations(of target: NodeID, as status: MemberStatus, in changes: [GossipSimulation.ObservedChange]) -> [GossipSimulation.ObservedChange] {
    changes.filter { $0.change.member.id == target && $0.change.member.status == status && $0.change.previousStatus != status }
}
