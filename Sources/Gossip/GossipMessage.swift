import Foundation

/// Everything gossip puts on the wire: one JSON object, versioned and size-bounded (docs/wire.md).
public struct GossipMessage: Sendable, Codable, Hashable {
    /// Why the message was sent; all kinds share one shape.
    public enum Kind: String, Sendable, Codable, Hashable {
        /// A periodic digest to one peer (on the peer's node subject).
        case digest
        /// A broadcast by a node that knows no live peer, so that others add it.
        case join
        /// A broadcast of a graceful leave.
        case leave
    }

    /// The wire version this build writes and accepts.
    public static let currentVersion = 1

    /// Wire version; a receiver drops any other with `GossipDecodeError.wrongVersion`.
    public var version: Int
    /// Why it was sent.
    public var kind: Kind
    /// The node that sent it.
    public var sender: NodeID
    /// Members as the sender sees them; the sender's own entry first.
    public var entries: [MemberDigest]

    public init(kind: Kind, sender: NodeID, entries: [MemberDigest], version: Int = GossipMessage.currentVersion) {
        self.version = version
        self.kind = kind
        self.sender = sender
        self.entries = entries
    }

    /// The JSON encoding. Throws only for values JSON cannot carry.
    public func encode() throws -> Data {
        try JSONEncoder().encode(self)
    }

    /// Decodes a payload from the network without ever trapping: checks the size first, then the
    /// version, then the shape and every node id. `peer` names where it came from (a subject or an
    /// address) for the error when the payload does not even say who sent it.
    public static func decode(_ data: Data, from peer: String, limits: GossipLimits = GossipLimits()) -> Result<GossipMessage, GossipDecodeError> {
        guard data.count <= limits.maxMessageBytes else {
            return .failure(.oversized(peer: peer, size: data.count, limit: limits.maxMessageBytes))
        }
        let decoder = JSONDecoder()
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch {
            return .failure(.malformed(peer: peer, reason: "not a JSON object: \(error)"))
        }
        let who = header.sender.map { "\($0) via \(peer)" } ?? peer
        guard let version = header.version else {
            return .failure(.malformed(peer: who, reason: "missing field 'version'"))
        }
        guard version == currentVersion else {
            return .failure(.wrongVersion(peer: who, version: version, supported: currentVersion))
        }
        let message: GossipMessage
        do {
            message = try decoder.decode(GossipMessage.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            return .failure(.malformed(peer: who, reason: "missing field '\(key.stringValue)'"))
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx) {
            return .failure(.malformed(peer: who, reason: "bad value at '\(path(ctx.codingPath))'"))
        } catch let DecodingError.dataCorrupted(ctx) {
            return .failure(.malformed(peer: who, reason: "bad value at '\(path(ctx.codingPath))': \(ctx.debugDescription)"))
        } catch {
            return .failure(.malformed(peer: who, reason: "\(error)"))
        }
        guard message.sender.isValid else {
            return .failure(.malformed(peer: who, reason: "field 'sender' is not a valid node id"))
        }
        guard message.entries.count <= limits.maxEntries else {
            return .failure(.malformed(peer: who, reason: "\(message.entries.count) entries, more than \(limits.maxEntries)"))
        }
        for (i, e) in message.entries.enumerated() where !e.id.isValid {
            return .failure(.malformed(peer: who, reason: "field 'entries[\(i)].id' is not a valid node id"))
        }
        return .success(message)
    }

    private struct Header: Decodable {
        var version: Int?
        var sender: String?
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

/// Bounds a receiver enforces before trusting a payload.
public struct GossipLimits: Sendable, Hashable {
    /// Largest payload decoded. Default 512 KiB: half of NATS's default `max_payload` (1 MiB), and
    /// room for `GossipSettings.maxDigestEntries` entries with generous labels.
    public var maxMessageBytes: Int
    /// Most entries accepted in one message.
    public var maxEntries: Int

    public init(maxMessageBytes: Int = 512 * 1024, maxEntries: Int = 1024) {
        self.maxMessageBytes = maxMessageBytes
        self.maxEntries = maxEntries
    }
}

/// Why a payload was dropped. Each case names the peer, so the log line says who sent it.
public enum GossipDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not JSON, a missing or mistyped field, or an invalid node id.
    case malformed(peer: String, reason: String)
    /// Larger than `GossipLimits.maxMessageBytes`; not parsed at all.
    case oversized(peer: String, size: Int, limit: Int)
    /// A version this build does not speak.
    case wrongVersion(peer: String, version: Int, supported: Int)

    /// Who sent it, as far as the payload said.
    public var peer: String {
        switch self {
        case .malformed(let p, _), .oversized(let p, _, _), .wrongVersion(let p, _, _): return p
        }
    }

    public var description: String {
        switch self {
        case .malformed(let p, let r): return "malformed gossip message from \(p): \(r)"
        case .oversized(let p, let s, let l): return "oversized gossip message from \(p): \(s) bytes, limit \(l)"
        case .wrongVersion(let p, let v, let s): return "gossip message from \(p) has version \(v), this node speaks \(s)"
        }
    }
}
