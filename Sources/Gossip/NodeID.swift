/// A cluster member's name. It is also one token of a NATS subject (`agentvm.<cluster>.gossip.node.<id>`),
/// so only letters, digits, `-` and `_` are valid; see `isValid`.
public struct NodeID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The name as written on the wire.
    public var rawValue: String

    /// Wraps a name without checking it; `GossipNode` and `GossipMessage.decode` check with `isValid`.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public init(stringLiteral value: String) { self.rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    /// Longest name accepted, so one id cannot blow up every digest that carries it.
    public static let maxLength = 128

    /// Whether the name can stand as one subject token: 1–128 characters of `[A-Za-z0-9_-]`.
    public var isValid: Bool { NodeID.isSubjectToken(rawValue) }

    /// Whether `s` is 1–128 characters of `[A-Za-z0-9_-]` (also used for cluster names).
    public static func isSubjectToken(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= maxLength else { return false }
        return s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
        }
    }

    public var description: String { rawValue }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }
}
