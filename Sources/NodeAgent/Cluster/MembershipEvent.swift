import ClusterCore
import Gossip

/// A membership change as the node reports it: a kernel event type (`member.joined`,
/// `member.suspect`, `member.alive`, `member.dead`, `member.left`), its data, and a log line.
/// Changes that are neither (a lifecycle step of this node itself, a pruned member) map to nil.
struct MembershipEvent: Sendable, Hashable {
    /// The kernel event type.
    var type: String
    /// Naming the member and its incarnation: `member`, `incarnation`, `status`, `previous`
    /// (null when first seen), `newLife`, `api`.
    var data: JSONValue
    /// The log message.
    var message: String
    /// Whether the change is bad news (logged as a warning).
    var isFailure: Bool

    init?(_ change: MemberChange) {
        let m = change.member
        guard m.lifecycle != .removed else { return nil }
        let firstSeen = change.previousStatus == nil
        let statusChanged = change.previousStatus != m.status
        switch m.status {
        case .alive where firstSeen || change.isNewLife:
            type = "member.joined"
            message = change.isNewLife ? "member rejoined with a new life" : "member joined"
        case .alive where statusChanged:
            type = "member.alive"
            message = "member refuted its suspicion and is alive"
        case .suspect where firstSeen || change.isNewLife || statusChanged:
            type = "member.suspect"
            message = "member suspected: its heartbeat stopped advancing"
        case .dead where firstSeen || change.isNewLife || statusChanged:
            type = "member.dead"
            message = "member declared dead"
        case .left where firstSeen || change.isNewLife || statusChanged:
            type = "member.left"
            message = "member left the cluster"
        default:
            return nil
        }
        isFailure = m.status == .suspect || m.status == .dead
        data = [
            "member": .string(m.id.rawValue),
            "incarnation": .number(Double(m.incarnation)),
            "status": .string(m.status.rawValue),
            "previous": change.previousStatus.map { .string($0.rawValue) } ?? .null,
            "newLife": .bool(change.isNewLife),
            "api": .string(m.health.apiAddress),
        ]
    }
}
