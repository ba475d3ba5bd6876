import Foundation

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
    /// Local-health score (Lifeguard); 0 is healthy.
    public var health: Int

    /// A member record.
    public init(id: String, status: String, incarnation: UInt64 = 0, lastSeen: Date = Date(), health: Int = 0) {
        self.id = id
        self.status = status
        self.incarnation = incarnation
        self.lastSeen = lastSeen
        self.health = health
    }
}
