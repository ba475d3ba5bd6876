import ClusterCore
import Foundation
import Synchronization

/// Replicated memory on a clustered node. The replica is loaded and installed as the MemoryBus's
/// store for the replicated namespaces (`shared` and `memory.replicated`) before any process is
/// recovered or spawned, so every process reads and writes them through it; it starts replicating
/// once the node has joined its cluster (over the cluster's NATS connection, to the members gossip
/// reports alive or suspect), and stops before persistence closes. An embedded node has none: its
/// shared namespace is the MemoryBus one.
extension Node {
    /// The node's replicated memory; nil when embedded or before the node starts.
    public var replicatedMemory: ReplicatedMemory? { replication.withLock { $0 } }

    /// Loads the replica and hands the replicated namespaces of the kernel's MemoryBus to it.
    func prepareReplication() async throws {
        guard replicatedMemory == nil, let gossip = cluster as? GossipClusterServices else { return }
        let log = logger
        let options = ReplicationOptions(cluster: gossip.options.name, namespaces: Set(config.memory.replicated))
        let memory = try await ReplicatedMemory(
            nodeID: id, options: options, database: store.database,
            log: { line in log.warn(line) })
        kernel.memory.setReplicatedStore(memory.namespaceStore)
        replication.withLock { $0 = memory }
    }

    func startReplication() async throws {
        guard let gossip = cluster as? GossipClusterServices, let transport = gossip.transport else { return }
        try await prepareReplication()
        guard let memory = replicatedMemory else { return }
        let peers: @Sendable () -> Set<String> = { [weak gossip] in
            Set((gossip?.members() ?? []).filter { $0.status == "alive" || $0.status == "suspect" }.map(\.id))
        }
        try await memory.start(transport: transport, peers: peers)
        await memory.startPruning(members: { [weak gossip] in
            Dictionary((gossip?.members() ?? []).map { ($0.id, $0.status) }, uniquingKeysWith: { a, _ in a })
        })
        logger.info("replicating memory", [
            "subjects": .string(ReplicatedMemory.subject(cluster: gossip.options.name, to: id, from: "*")),
            "namespaces": .array(memory.options.namespaces.sorted().map(JSONValue.string)),
        ])
    }

    /// Stops replicating. The store stays installed: a write arriving after this fails (the
    /// database closes next) instead of landing in the local namespace.
    func stopReplication() async {
        guard let memory = replicatedMemory else { return }
        await memory.stopPruning()
        await memory.stop()
    }
}
