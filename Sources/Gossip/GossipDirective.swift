/// What the pure core asks its shell to do; the shell performs these in order and does nothing else.
public enum GossipDirective: Sendable, Hashable {
    /// Send to one peer (on the peer's node subject).
    case send(to: NodeID, GossipMessage)
    /// Send to every node of the cluster (on the announce subject).
    case broadcast(GossipMessage)
    /// Tell the node's owner about a membership change.
    case memberChanged(MemberChange)
    /// Call `tick(now:using:)` again after this long.
    case scheduleTick(after: Duration)
}
