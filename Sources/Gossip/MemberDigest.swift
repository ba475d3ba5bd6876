/// One member as it travels in a message: enough to merge by maximum (incarnation, then heartbeat,
/// then status rank) and to carry the member's latest health.
public struct MemberDigest: Sendable, Codable, Hashable {
    /// The member's name.
    public var id: NodeID
    /// Its incarnation as the sender knows it.
    public var incarnation: UInt64
    /// Its heartbeat as the sender knows it.
    public var heartbeat: UInt64
    /// The sender's belief about it.
    public var status: MemberStatus
    /// The health it reported with that heartbeat.
    public var health: MemberHealth

    public init(id: NodeID, incarnation: UInt64, heartbeat: UInt64, status: MemberStatus, health: MemberHealth) {
        self.id = id
        self.incarnation = incarnation
        self.heartbeat = heartbeat
        self.status = status
        self.health = health
    }
}
