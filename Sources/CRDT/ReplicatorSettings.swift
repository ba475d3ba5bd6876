import Foundation

/// Tuning of a `Replicator`. Times are milliseconds of the clock passed to `tick(now:)`.
public struct ReplicatorSettings: Sendable, Hashable {
    /// Peers sent deltas per tick (Akka Distributed Data sends to a few nodes per round, rotating,
    /// so every peer is reached within a few rounds).
    public var deltaFanout: Int = 3
    /// A delta transfer not acknowledged within this time is sent again; the wait doubles with
    /// every resend the peer leaves unanswered.
    public var resendAfter: Int64 = 1_000
    /// Resends a peer may leave unanswered (no message at all from it) before it counts as silent
    /// and is sent no more deltas until it is heard from again (then anti-entropy repairs what it
    /// missed). Bounds what a partitioned replica queues for peers it still believes reachable,
    /// e.g. in a NATS client's reconnect buffer, which is delivered all at once on the heal.
    public var maxUnansweredResends: Int = 2
    /// How often one peer (rotating) is offered an anti-entropy digest.
    public var antiEntropyInterval: Int64 = 1_000
    /// Anti-entropy does not send a peer the same value of a key again within this time: after a
    /// heal, digests keep arriving every `antiEntropyInterval` while the first transfer of
    /// thousands of values is still in flight, and answering each of them with everything again
    /// multiplies the traffic (and the decoding work) that convergence waits behind. A transfer
    /// that was lost is sent again by the first anti-entropy round after this time. Longer than
    /// a heal's transfer takes on a loaded machine (decoding ~1 MB of JSON can take seconds), or
    /// the resends add to the very load that delays it.
    public var stateResendAfter: Int64 = 4_000
    /// The largest encoded message sent or accepted.
    public var maxMessageBytes: Int = 512 * 1024
    /// Delta batches kept for peers that have not acknowledged them; a peer further behind gets
    /// full state instead.
    public var maxOutboxBatches: Int = 1_024
    /// Buckets in an anti-entropy digest (keys are hashed into buckets; only differing buckets are
    /// listed key by key).
    public var digestBuckets: Int = 64

    /// The defaults.
    public init() {}
}

/// What a `Replicator` asks its shell to do.
public enum ReplicatorDirective<Data: DeltaReplicatedData>: Sendable {
    /// Send `message` (already encoded as `bytes`, within the size limit) to `peer`.
    case send(to: ReplicaID, message: ReplicationMessage<Data>, bytes: Foundation.Data)
    /// These keys received remote data (their values may have changed): persist, notify readers.
    case updated(keys: [String])
    /// Bytes from `peer` were rejected.
    case rejected(from: ReplicaID, error: ReplicationDecodeError)
    /// A value too large for one message under `key` could not be sent to `peer`.
    case tooLarge(key: String, peer: ReplicaID, bytes: Int)
}
