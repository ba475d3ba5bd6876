import Foundation
import Gossip // [cluster] NodeMember.health is the gossiped MemberHealth

/// What a clustered node adds to an embedded one: membership (and, later, placement and the
/// distributed broker). A `Node` without one runs embedded. The gossip issue provides the
/// implementation; the node only starts it, stops it and asks it for members.
public protocol ClusterServices: Sendable {
    /// Joins the cluster as `node` (called once the node's kernel has recovered).
    func start(node: Node) async throws
    /// Leaves the cluster (called during a graceful stop, before persistence closes).
    func stop() async
    /// Every member this node knows, itself included.
    func members() -> [NodeMember]
    // [cluster] membership figures for /metrics
    /// Adds membership, gossip and connection figures to `/metrics`.
    func addMetrics(to p: inout PrometheusText)
}

// [cluster] a ClusterServices without figures adds none.
extension ClusterServices {
    public func addMetrics(to p: inout PrometheusText) {}
}

/// One cluster member as `/v1/members` shows it.
public struct NodeMember: Sendable, Hashable {
    /// The member's node id.
    public var id: String
    /// `alive`, `suspect`, `dead` or `left`.
    public var status: String
    /// Bumped by the member to refute suspicion of itself.
    public var incarnation: UInt64
    /// When this node last heard from it.
    public var lastSeen: Date
    /// What the member last reported about itself (processes, queue depth, CPU, memory, version,
    /// API address, labels). [cluster] was an Int local-health score.
    public var health: MemberHealth

    /// A member record.
    public init(id: String, status: String, incarnation: UInt64 = 0, lastSeen: Date = Date(), health: MemberHealth = MemberHealth()) {
        self.id = id
        self.status = status
        self.incarnation = incarnation
        self.lastSeen = lastSeen
        self.health = health
    }
}
