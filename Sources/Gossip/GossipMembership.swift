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

    var peers: [NodeID: MemberRecord] = [:]
    /// The keys of `peers`, for uniform random picks.
    var order: [NodeID] = []
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
        1 + peers.values.reduce(0) { $0 + ($1.status.isDown ? 0 : 1) }
    }

    /// Every member in this view (this node included, pruned ones excluded), sorted by id.
    public var members: [Member] {
        var all = peers.values.map(\.member)
        all.append(selfMember)
        return all.sorted { $0.id < $1.id }
    }

    /// One member of this view, or nil when unknown or pruned.
    public func member(_ id: NodeID) -> Member? {
        if id == self.id { return selfMember }
        return peers[id]?.member
    }

    /// Replaces what this node reports about itself; the next digest carries it.
    public mutating func updateHealth(_ health: MemberHealth) {
        self.health = health
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
