/// One row of a node's member table, as `members()` reports it.
public struct Member: Sendable, Hashable {
    /// The member's name.
    public var id: NodeID
    /// Its incarnation: raised only by the member itself, to refute a suspicion or on restart.
    public var incarnation: UInt64
    /// Its heartbeat counter within this incarnation.
    public var heartbeat: UInt64
    /// What the failure detector believes.
    public var status: MemberStatus
    /// Where it is in its current life.
    public var lifecycle: MemberLifecycle
    /// What it last reported about itself.
    public var health: MemberHealth
    /// Local time (on the observer's clock, same origin as `now`) when its heartbeat or incarnation
    /// last advanced in this view.
    public var lastSeen: Duration

    public init(id: NodeID, incarnation: UInt64, heartbeat: UInt64, status: MemberStatus,
                lifecycle: MemberLifecycle, health: MemberHealth, lastSeen: Duration) {
        self.id = id
        self.incarnation = incarnation
        self.heartbeat = heartbeat
        self.status = status
        self.lifecycle = lifecycle
        self.health = health
        self.lastSeen = lastSeen
    }
}

/// A change in the member table worth telling the node about: a member seen for the first time,
/// a status or lifecycle step, a new life, or a removal. Heartbeat and health updates are not changes.
public struct MemberChange: Sendable, Hashable {
    /// The member after the change (lifecycle `removed` when it was pruned).
    public var member: Member
    /// Its status before, or nil when it is seen for the first time.
    public var previousStatus: MemberStatus?
    /// Its lifecycle before, or nil when it is seen for the first time.
    public var previousLifecycle: MemberLifecycle?
    /// It was down or removed and came back with a higher incarnation.
    public var isNewLife: Bool

    public init(member: Member, previousStatus: MemberStatus?, previousLifecycle: MemberLifecycle?, isNewLife: Bool) {
        self.member = member
        self.previousStatus = previousStatus
        self.previousLifecycle = previousLifecycle
        self.isNewLife = isNewLife
    }
}
