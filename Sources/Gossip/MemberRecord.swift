/// The core's private row for a peer: the gossiped fields plus the local timers behind them.
struct MemberRecord: Sendable, Hashable {
    var id: NodeID
    var incarnation: UInt64
    var heartbeat: UInt64
    var status: MemberStatus
    var lifecycle: MemberLifecycle
    var health: MemberHealth
    /// Local time the heartbeat or incarnation last advanced: the heartbeat timeout runs from here.
    var lastAdvanced: Duration
    /// Local time the status last changed: suspicion period and dead retention run from here.
    var statusSince: Duration
    /// Members that told us (or, for ourselves, we decided) it is suspect in this incarnation:
    /// Lifeguard's independent confirmations.
    var suspecters: Set<NodeID> = []
    /// Digests that carried this row since its last change; fresh news goes first in digests.
    var transmissions: Int = 0

    var digest: MemberDigest {
        MemberDigest(id: id, incarnation: incarnation, heartbeat: heartbeat, status: status, health: health)
    }

    var member: Member {
        Member(id: id, incarnation: incarnation, heartbeat: heartbeat, status: status,
               lifecycle: lifecycle, health: health, lastSeen: lastAdvanced)
    }

    /// Moves the status forward, the lifecycle with it, and returns the change to report.
    mutating func setStatus(_ newStatus: MemberStatus, now: Duration) -> MemberChange {
        let before = self
        status = newStatus
        statusSince = now
        transmissions = 0
        lifecycle = max(lifecycle, MemberRecord.lifecycle(for: newStatus))
        return MemberChange(member: member, previousStatus: before.status, previousLifecycle: before.lifecycle, isNewLife: false)
    }

    /// The lifecycle step a status implies; the stored lifecycle only ever moves up to it.
    static func lifecycle(for status: MemberStatus) -> MemberLifecycle {
        status.isDown ? .down : .up
    }
}

/// A pruned member: enough to refuse that life again until its retention ends.
struct Tombstone: Sendable, Hashable {
    var incarnation: UInt64
    var since: Duration
}
