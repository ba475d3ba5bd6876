/// The NATS subjects gossip uses, namespaced by cluster name (docs/wire.md).
public struct GossipSubjects: Sendable, Hashable {
    /// The cluster name, one subject token.
    public let cluster: String

    public init(cluster: String) { self.cluster = cluster }

    /// Every node subscribes here: `join` and `leave` broadcasts.
    public var announce: String { "agentvm.\(cluster).gossip.announce" }

    /// One node's inbox for digests: `agentvm.<cluster>.gossip.node.<id>`.
    public func node(_ id: NodeID) -> String { "agentvm.\(cluster).gossip.node.\(id.rawValue)" }
}

/// Why a `GossipNode` could not start.
public enum GossipNodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The node id cannot be a subject token.
    case invalidNodeID(String)
    /// The cluster name cannot be a subject token.
    case invalidClusterName(String)
    /// The transport refused a subscription.
    case transport(String)
    /// `start()` was called twice, or after `stop()`.
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidNodeID(let s): return "invalid node id '\(s)': use 1–128 characters of A–Z a–z 0–9 - _"
        case .invalidClusterName(let s): return "invalid cluster name '\(s)': use 1–128 characters of A–Z a–z 0–9 - _"
        case .transport(let m): return "gossip transport error: \(m)"
        case .alreadyStarted: return "gossip node already started"
        }
    }
}
