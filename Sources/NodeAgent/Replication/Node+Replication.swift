import ClusterCore
import Foundation
import Synchronization

/// Replicated memory on a clustered node: started once the node has joined its cluster (over the
/// cluster's NATS connection, replicating to the members gossip reports alive or suspect), stopped
/// before persistence closes. An embedded node has none: its shared namespace is the MemoryBus one.
extension Node {
    /// The node's replicated memory; nil when embedded or before the cluster is joined.
    public var replicatedMemory: ReplicatedMemory? { replication.withLock { $0 } }

    func startReplication() async throws {
        guard let gossip = cluster as? GossipClusterServices, let transport = gossip.transport else { return }
        let log = logger
        let memory = try await ReplicatedMemory(
            nodeID: id, options: ReplicationOptions(cluster: gossip.options.name), database: store.database,
            log: { line in log.warn(line) })
        try await memory.start(transport: transport, peers: { [weak gossip] in
            Set((gossip?.members() ?? []).filter { $0.status == "alive" || $0.status == "suspect" }.map(\.id))
        })
        replication.withLock { $0 = memory }
        logger.info("replicating shared memory", ["subjects": .string(ReplicatedMemory.subject(cluster: gossip.options.name, to: id, from: "*"))])
    }

    func stopReplication() async {
        let memory = replication.withLock { r -> ReplicatedMemory? in
            let old = r
            r = nil
            return old
        }
        await memory?.stop()
    }
}
