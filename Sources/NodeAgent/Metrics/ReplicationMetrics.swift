/// `agentvm_replication_*` lines of `/metrics` on a clustered node (docs/operations.md).
extension ReplicatedMemory {
    /// Adds the replica's figures and the shell's counters, read without waiting on the actor.
    public nonisolated func addMetrics(to p: inout PrometheusText) {
        let s = currentStats()
        p.add("agentvm_replication_keys", .gauge, help: "Replicated keys held, delete markers included.",
              value: Double(s.keys))
        let live = liveKeyCounts()
        for ns in options.namespaces.sorted() {
            p.add("agentvm_replication_live_keys", .gauge, help: "Live replicated keys, by namespace.",
                  value: Double(live[ns] ?? 0), labels: [("namespace", ns)])
        }
        p.add("agentvm_replication_bytes", .gauge, help: "Bytes of the replica as persisted (CRDT encodings).",
              value: Double(s.bytes))
        p.add("agentvm_replication_peers", .gauge, help: "Peers replicated to.", value: Double(s.peers))
        p.add("agentvm_replication_pruned_replicas", .gauge, help: "Departed members pruned from counters and sets.",
              value: Double(s.prunedReplicas))
        for kind in ["deltas", "ack", "state", "digest", "key_digest", "request"] {
            p.add("agentvm_replication_messages_sent_total", .counter,
                  help: "Replication messages published, by kind (digest: an anti-entropy round; state: a state transfer).",
                  value: Double(s.sentByKind[kind] ?? 0), labels: [("kind", kind)])
        }
        p.add("agentvm_replication_messages_received_total", .counter, help: "Replication messages received.",
              value: Double(s.received))
        p.add("agentvm_replication_sent_bytes_total", .counter, help: "Bytes of replication messages published.",
              value: Double(s.sentBytes))
        p.add("agentvm_replication_received_bytes_total", .counter, help: "Bytes of replication messages received.",
              value: Double(s.receivedBytes))
        p.add("agentvm_replication_send_failures_total", .counter, help: "Replication publishes the transport refused.",
              value: Double(s.sendFailures))
        for reason in ["oversized", "unsupported_version", "malformed"] {
            p.add("agentvm_replication_decode_errors_total", .counter,
                  help: "Replication messages rejected undecoded, by reason.",
                  value: Double(s.rejected[reason] ?? 0), labels: [("reason", reason)])
        }
        p.add("agentvm_replication_persist_failures_total", .counter,
              help: "Failures to persist state received from peers (retried).", value: Double(s.persistFailures))
    }
}
