import Foundation

/// Every knob of the protocol, with where each default comes from. `agentvm.yml` sets them under
/// `cluster.gossip`. At the defaults a dead member of a small cluster (up to ~30 nodes) is declared
/// dead by every other member within 3 s; `detectionBound(clusterSize:)` gives the figure for any size.
public struct GossipSettings: Sendable, Hashable {
    /// Time between two rounds (heartbeat increment + digest to `fanout` peers).
    /// Default 200 ms: memberlist's `DefaultLANConfig.GossipInterval`.
    public var interval: Duration
    /// Peers a digest goes to per round.
    /// Default 3: memberlist's `GossipNodes` and SWIM's k = 3 indirect probes.
    public var fanout: Int
    /// How long a member's heartbeat may stand still before it is suspected, in a cluster where
    /// digests reach everyone in a round or two. Larger clusters stretch it automatically
    /// (`suspectAfter(clusterSize:)`). Default 1 s: memberlist's LAN `ProbeInterval` (one probe
    /// period), which is 5 rounds here, so a member must miss ~15 digests in a row to be suspected.
    public var suspectAfter: Duration
    /// Shortest suspicion period, reached once `suspicionConfirmations` other members confirm.
    /// Default 400 ms (2 rounds: time for the suspect to hear of it and refute). Lifeguard (arXiv 1707.00788 §4.2) uses a min/max pair shrinking with
    /// confirmations; memberlist's floor is SuspicionMult × log10(N) × ProbeInterval (4 s for N ≤ 10),
    /// scaled down here to meet the 3 s detection target.
    public var suspicionMin: Duration
    /// Longest suspicion period, used while nobody else confirms.
    /// Default 1.2 s: 3 × `suspicionMin`, as Lifeguard uses a max of several × the min
    /// (memberlist: `SuspicionMaxTimeoutMult` = 6); 3 keeps detection within 3 s.
    public var suspicionMax: Duration
    /// Independent confirmations that bring the suspicion period down to `suspicionMin`.
    /// Default 3: Lifeguard's K = 3 (and memberlist's `SuspicionMult - 2` for K).
    public var suspicionConfirmations: Int
    /// Ceiling of the local health multiplier (Lifeguard's LHM): a slow node stretches its own
    /// timeouts by up to (1 + this). Default 8: Lifeguard's `AwarenessMaxMultiplier`.
    public var maxLocalHealth: Int
    /// A tick this many intervals after the previous one means the node itself was stalled.
    /// Default 2: a tick late by a whole round cannot be scheduler jitter.
    public var lateTickFactor: Double
    /// How long a dead or left member stays in digests before it is pruned to a tombstone.
    /// Default 30 s: memberlist's `GossipToTheDeadTime`.
    public var deadRetention: Duration
    /// How long a pruned member's tombstone (id, incarnation) is kept, so stale gossip cannot bring
    /// that life back. Default 10 min: longer than any digest can circulate.
    public var tombstoneRetention: Duration
    /// How often a node sends one extra digest to a random dead member (or seed), so the two sides
    /// of a healed partition find each other. Default 1 s: one per memberlist probe period.
    public var reconnectInterval: Duration
    /// Most entries in one digest; fresh news first, then a random sample. Default 256: keeps a
    /// digest with health under ~64 KiB, so messages per node per second stay constant and bytes
    /// per message stop growing past 256 members.
    public var maxDigestEntries: Int
    /// Sends of a change (new member, status step, refutation) before it is no longer preferred in
    /// digests. Default 6: memberlist's `RetransmitMult` (4) × log10(N) rounded up for N ≤ 1000 ≈ 12,
    /// halved because every digest here also carries a random sample.
    public var newsTransmissions: Int
    /// Bounds for decoding incoming messages.
    public var limits: GossipLimits

    public init(interval: Duration = .milliseconds(200), fanout: Int = 3, suspectAfter: Duration = .seconds(1),
                suspicionMin: Duration = .milliseconds(400), suspicionMax: Duration = .milliseconds(1200),
                suspicionConfirmations: Int = 3, maxLocalHealth: Int = 8, lateTickFactor: Double = 2,
                deadRetention: Duration = .seconds(30), tombstoneRetention: Duration = .seconds(600),
                reconnectInterval: Duration = .seconds(1), maxDigestEntries: Int = 256, newsTransmissions: Int = 6,
                limits: GossipLimits = GossipLimits()) {
        self.interval = interval
        self.fanout = max(1, fanout)
        self.suspectAfter = suspectAfter
        self.suspicionMin = suspicionMin
        self.suspicionMax = max(suspicionMin, suspicionMax)
        self.suspicionConfirmations = max(1, suspicionConfirmations)
        self.maxLocalHealth = max(0, maxLocalHealth)
        self.lateTickFactor = lateTickFactor
        self.deadRetention = deadRetention
        self.tombstoneRetention = tombstoneRetention
        self.reconnectInterval = reconnectInterval
        self.maxDigestEntries = max(2, maxDigestEntries)
        self.newsTransmissions = max(1, newsTransmissions)
        self.limits = limits
    }

    /// Rounds for one heartbeat value to reach every member by push gossip: ln N / ln(1 + r), where
    /// r = fanout × (share of the table one digest carries) is how many members one digest informs.
    public func disseminationRounds(clusterSize n: Int) -> Double {
        let n = Double(max(2, n))
        let share = min(1, Double(maxDigestEntries) / n)
        let r = Double(fanout) * share
        return log(n) / log(1 + r)
    }

    /// The heartbeat timeout for a cluster of `n`: `suspectAfter`, or twice the dissemination time
    /// when that is longer (large clusters with bounded digests).
    public func suspectAfter(clusterSize n: Int) -> Duration {
        let needed = interval * (2 * disseminationRounds(clusterSize: n)).rounded(.up)
        return max(suspectAfter, needed)
    }

    /// Suspicion periods scale with log10 N as memberlist's do (never below 1×).
    public func suspicionScale(clusterSize n: Int) -> Double {
        max(1, log10(Double(max(1, n))))
    }

    /// Lifeguard's suspicion period: from `suspicionMax` down to `suspicionMin` as confirmations
    /// arrive, max − (max − min) · log(C + 1) / log(K + 1).
    public func suspicionPeriod(confirmations c: Int, clusterSize n: Int) -> Duration {
        let k = Double(suspicionConfirmations)
        let frac = min(1, log(Double(max(0, c)) + 1) / log(k + 1))
        let base = suspicionMax - (suspicionMax - suspicionMin) * frac
        return base * suspicionScale(clusterSize: n)
    }

    /// Worst time from a member's death to its being declared dead by every other healthy member:
    /// the spread of its last heartbeat (relayed copies arrive late and restart the timer), the
    /// heartbeat timeout, the longest suspicion period, and one round of tick granularity for each
    /// of the two timers. 3.0 s for 5 members at the defaults.
    public func detectionBound(clusterSize n: Int) -> Duration {
        interval * (disseminationRounds(clusterSize: n).rounded(.up) + 2)
            + suspectAfter(clusterSize: n) + suspicionMax * suspicionScale(clusterSize: n)
    }
}
