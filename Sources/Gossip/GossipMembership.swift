/// The pure membership core: heartbeat gossip with SWIM/Lifeguard suspicion.
///
/// A `Sendable` value with no clock, randomness or I/O inside, in the style of
/// swift-cluster-membership's `SWIM.Instance`: each input (`tick`, `receive`, `leave`) mutates it
/// and returns the directives its shell must perform. Time is a `Duration` since any fixed origin
/// the caller chooses (a monotonic clock, or the simulator's virtual clock). The protocol, its states
/// and its bounds are described in docs/gossip.md.
public struct GossipMembership: Sendable {
    /// This node.
    public let id: NodeID
    /// The protocol settings.
    public let settings: GossipSettings
    /// This node's incarnation; raised to refute a suspicion or to start a new life.
    public internal(set) var incarnation: UInt64
    /// This node's heartbeat within its incarnation; one more each round.
    public internal(set) var heartbeat: UInt64 = 0
    /// What this node reports about itself.
    public internal(set) var health: MemberHealth
    /// `alive`, or `left` after `leave(now:)`.
    public internal(set) var status: MemberStatus = .alive
    /// `joining` until a peer is heard, `up`, then `leaving` after `leave(now:)`.
    public internal(set) var lifecycle: MemberLifecycle = .joining
    /// Lifeguard's local health score, 0…`maxLocalHealth`: raised when this node finds itself slow
    /// (a late tick, a suspicion of itself), lowered by each on-time round.
    public internal(set) var localHealth: Int = 0
    /// Running counts, for metrics and tests.
    public internal(set) var stats = GossipStats()

    /// Every known peer; rows are mutated in place (the simulator runs 1,000 of these cores).
    var rows: [MemberRecord] = []
    /// Where each peer's row is in `rows`.
    var index: [NodeID: Int] = [:]
    var tombstones: [NodeID: Tombstone] = [:]
    let seeds: [NodeID]
    var lastTick: Duration?
    var lastReconnect: Duration?
    var lastReceived: Duration?

    /// A node that knows only `seeds` (possibly none: it then broadcasts a join). Pass a higher
    /// `incarnation` on restart (the shell uses the wall clock) so the new run is a new life at once;
    /// if it is not higher, the first peer that remembers the old life makes this node raise it.
    public init(id: NodeID, settings: GossipSettings = GossipSettings(), health: MemberHealth = MemberHealth(),
                incarnation: UInt64 = 0, seeds: [NodeID] = []) {
        self.id = id
        self.settings = settings
        self.health = health
        self.incarnation = incarnation
        self.seeds = seeds.filter { $0 != id }
    }

    /// The local health multiplier applied to every timeout of this node (1 + `localHealth`).
    public var localHealthMultiplier: Int { 1 + localHealth }

    /// Members alive or suspect in this view, this node included.
    public var clusterSize: Int {
        var n = 1
        for i in rows.indices where !rows[i].status.isDown { n += 1 }
        return n
    }

    /// Every member in this view (this node included, pruned ones excluded), sorted by id.
    public var members: [Member] {
        var all = rows.map(\.member)
        all.append(selfMember)
        return all.sorted { $0.id < $1.id }
    }

    /// One member of this view, or nil when unknown or pruned.
    public func member(_ id: NodeID) -> Member? {
        if id == self.id { return selfMember }
        return index[id].map { rows[$0].member }
    }

    /// The status of one member in this view, without copying its row.
    public func status(of id: NodeID) -> MemberStatus? {
        if id == self.id { return status }
        return index[id].map { rows[$0].status }
    }

    /// Replaces what this node reports about itself; the next digest carries it.
    public mutating func updateHealth(_ health: MemberHealth) {
        self.health = health
    }

    mutating func append(_ r: MemberRecord) {
        index[r.id] = rows.count
        rows.append(r)
    }

    mutating func removeRows(_ ids: Set<NodeID>) {
        rows.removeAll { ids.contains($0.id) }
        index = [:]
        for (i, r) in rows.enumerated() { index[r.id] = i }
    }

    var selfMember: Member {
        Member(id: id, incarnation: incarnation, heartbeat: heartbeat, status: status,
               lifecycle: lifecycle, health: health, lastSeen: lastTick ?? .zero)
    }

    var selfDigest: MemberDigest {
        MemberDigest(id: id, incarnation: incarnation, heartbeat: heartbeat, status: status, health: health)
    }
}

/// Running counts of one core, for metrics and tests.
public struct GossipStats: Sendable, Hashable {
    /// Digests and broadcasts produced.
    public var messagesSent = 0
    /// Messages taken in.
    public var messagesReceived = 0
    /// Times this node raised its incarnation to refute a suspicion or an older life.
    public var refutations = 0
    /// Members this node itself began to suspect.
    public var suspicionsRaised = 0
    /// Members this node itself declared dead (not counting deaths learned by gossip).
    public var deathsDeclared = 0
    /// Ticks that came late enough to mean this node was stalled.
    public var lateTicks = 0
}
