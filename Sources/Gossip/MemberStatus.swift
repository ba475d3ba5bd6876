/// What the failure detector believes about a member. Within one incarnation a status only rises
/// (alive → suspect → dead, or → left); going back to `alive` takes a higher incarnation, which only
/// the member itself can issue (a refutation, or a restart).
public enum MemberStatus: String, Sendable, Codable, CaseIterable, Comparable {
    /// Its heartbeat advances.
    case alive
    /// Its heartbeat stopped advancing for the suspicion timeout; it may still refute.
    case suspect
    /// Suspected for the whole suspicion period without a refutation: a failure.
    case dead
    /// It announced a graceful leave; not a failure.
    case left

    /// Merge precedence inside one incarnation: the larger wins. `left` outranks `dead` because a
    /// node's own word about leaving is more accurate than anybody's timeout.
    var rank: Int {
        switch self {
        case .alive: return 0
        case .suspect: return 1
        case .dead: return 2
        case .left: return 3
        }
    }

    /// Dead or left: the member is out of this life.
    public var isDown: Bool { self == .dead || self == .left }

    public static func < (lhs: MemberStatus, rhs: MemberStatus) -> Bool { lhs.rank < rhs.rank }
}

/// Where a member is in one life, on the axis that only moves forward
/// (joining → up → leaving → down → removed), as in swift-distributed-actors' `Cluster.MemberStatus`.
/// A life is one run of the member's process: a member that is down and comes back with a higher
/// incarnation (a restart, or a healed partition) starts a new life at `up`; see docs/gossip.md.
public enum MemberLifecycle: String, Sendable, Codable, CaseIterable, Comparable {
    /// This node itself, until it has heard from a peer.
    case joining
    /// A member of the cluster (alive or suspect).
    case up
    /// This node itself, after `leave` and before it stops.
    case leaving
    /// Dead or left: kept in digests for the retention time so every member learns it.
    case down
    /// Pruned from the table; only a tombstone (id, incarnation) is kept.
    case removed

    var order: Int {
        switch self {
        case .joining: return 0
        case .up: return 1
        case .leaving: return 2
        case .down: return 3
        case .removed: return 4
        }
    }

    public static func < (lhs: MemberLifecycle, rhs: MemberLifecycle) -> Bool { lhs.order < rhs.order }
}
