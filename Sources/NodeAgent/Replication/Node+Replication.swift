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
        try await moveLocalKeys(into: memory)
        kernel.memory.setReplicatedStore(memory.namespaceStore)
        replication.withLock { $0 = memory }
    }

    /// Keys written to a namespace while it was local (an embedded node joining a cluster, a
    /// namespace newly declared in `memory.replicated`) would be hidden once the replica serves it;
    /// they move into the replica instead: whole numbers without a TTL as PN-counters (a local counter
    /// keeps counting), everything else as plain values with their remaining TTL. A key the
    /// replica already holds keeps the replica's value. Each key is durable in the replica before
    /// it leaves the local backend, so a crash part-way only repeats the move on the next start.
    private func moveLocalKeys(into memory: ReplicatedMemory) async throws {
        let now = Date()
        for namespace in memory.options.namespaces.sorted() {
            let records = try kernel.memory.list(namespace).filter { !$0.key.hasPrefix("__") }
            guard !records.isEmpty else { continue }
            var moved = 0
            for record in records {
                let left = record.entry.expiresAt.map { $0.timeIntervalSince(now) }
                if left.map({ $0 > 0 }) ?? true, try memory.entry(namespace, record.key) == nil {
                    let ttl = left.map { Duration.milliseconds(max(1, Int64($0 * 1000))) }
                    if ttl == nil, case .number(let n) = record.entry.value, n == n.rounded(), abs(n) < 9e15 {
                        // A local counter stays one: `increment` keeps working, and a later `set`
                        // still takes the key over (a plain value wins against a counter).
                        _ = try await memory.increment(namespace, record.key, by: n)
                    } else {
                        _ = try await memory.set(namespace, record.key, record.entry.value, ttl: ttl)
                    }
                    moved += 1
                }
                _ = try await kernel.memory.delete(namespace, record.key)
            }
            logger.info("local keys moved into the replica", [
                "namespace": .string(namespace), "moved": .number(Double(moved)),
                "keptReplicaValue": .number(Double(records.count - moved)),
            ])
        }
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
