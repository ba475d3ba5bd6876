import Foundation

/// How a channel routes a published message.
public enum ChannelType: String, Sendable, Codable, CaseIterable {
    /// Every subscriber gets a copy; with no subscriber the message is kept in history only.
    case pubsub
    /// Only the subscriber named by the message's `to` gets it; none by that name = dead-letter.
    case direct
    /// Exactly one subscriber gets it, taking turns (round-robin); no subscriber = dead-letter.
    case queue
}

/// A channel's settings. Decoding fills in the defaults for missing fields, so configs may be short.
public struct ChannelConfig: Sendable, Hashable, Codable {
    public var name: String
    public var type: ChannelType
    /// How many of the newest messages the channel keeps for `history`; 0 keeps none.
    public var historyLimit: Int
    /// When set, a published payload must conform or the publish is rejected.
    public var schema: JSONSchema?
    /// Delivery attempts per subscriber before the message is dead-lettered (at least 1).
    public var maxDeliveryAttempts: Int

    public init(name: String, type: ChannelType = .pubsub, historyLimit: Int = 100,
                schema: JSONSchema? = nil, maxDeliveryAttempts: Int = 3) {
        self.name = name
        self.type = type
        self.historyLimit = historyLimit
        self.schema = schema
        self.maxDeliveryAttempts = maxDeliveryAttempts
    }

    private enum CodingKeys: String, CodingKey { case name, type, historyLimit, schema, maxDeliveryAttempts }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name),
                  type: try c.decodeIfPresent(ChannelType.self, forKey: .type) ?? .pubsub,
                  historyLimit: try c.decodeIfPresent(Int.self, forKey: .historyLimit) ?? 100,
                  schema: try c.decodeIfPresent(JSONSchema.self, forKey: .schema),
                  maxDeliveryAttempts: try c.decodeIfPresent(Int.self, forKey: .maxDeliveryAttempts) ?? 3)
    }
}

/// One message: published on a channel, or sent straight to a process (`channel == nil`).
public struct BrokerMessage: Sendable, Hashable, Codable {
    /// Unique within one broker (`MessageBroker.nextMessageID()`), increasing.
    public var id: UInt64
    /// The channel it was published on; nil for a direct process send.
    public var channel: String?
    public var from: String
    /// The recipient of a direct message.
    public var to: String?
    public var payload: JSONValue
    /// Higher is delivered first from a mailbox; default 0.
    public var priority: Int
    public var timestamp: Date
    /// After this instant the message is dead-lettered as expired instead of delivered.
    public var expiresAt: Date?
    /// Delivery attempts made so far (the broker sets it to the attempt number before each call).
    public var attempts: Int

    public init(id: UInt64, channel: String? = nil, from: String, to: String? = nil, payload: JSONValue,
                priority: Int = 0, timestamp: Date = Date(), expiresAt: Date? = nil, attempts: Int = 0) {
        self.id = id
        self.channel = channel
        self.from = from
        self.to = to
        self.payload = payload
        self.priority = priority
        self.timestamp = timestamp
        self.expiresAt = expiresAt
        self.attempts = attempts
    }

    /// Whether the message has expired at `now`.
    public func isExpired(at now: Date) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt <= now
    }

    /// The message as a JSON object (dates in ISO 8601), for events and the `__deadletter` channel.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "id": .number(Double(id)), "from": .string(from), "payload": payload,
            "priority": .number(Double(priority)), "timestamp": .string(KernelEvent.formatTimestamp(timestamp)),
            "attempts": .number(Double(attempts)),
        ]
        if let channel { o["channel"] = .string(channel) }
        if let to { o["to"] = .string(to) }
        if let expiresAt { o["expiresAt"] = .string(KernelEvent.formatTimestamp(expiresAt)) }
        return .object(o)
    }
}

/// A message that could not be delivered, and why.
public struct DeadLetter: Sendable, Hashable, Codable {
    public var message: BrokerMessage
    /// Plain words; starts with one of the `DeadLetterReason` prefixes.
    public var reason: String
    public var at: Date

    public init(message: BrokerMessage, reason: String, at: Date = Date()) {
        self.message = message
        self.reason = reason
        self.at = at
    }

    /// What a `__deadletter` subscriber receives as the payload.
    public var json: JSONValue {
        .object(["message": message.json, "reason": .string(reason), "at": .string(KernelEvent.formatTimestamp(at))])
    }
}

/// The reasons the broker gives (each reason string starts with one of these), so callers can
/// classify dead letters without parsing prose.
public enum DeadLetterReason {
    /// A direct or queue message found no subscriber to take it.
    public static let noSubscriber = "no subscriber"
    /// Every one of `maxDeliveryAttempts` deliveries threw.
    public static let deliveryFailed = "delivery failed"
    /// Its TTL ran out before it was delivered.
    public static let expired = "expired"
}

/// What went wrong in a broker or mailbox call.
public enum BrokerError: Error, Sendable, Hashable, CustomStringConvertible {
    case channelNotFound(String)
    /// A channel by that name exists with a different config.
    case channelExists(String)
    case schemaViolation(channel: String, violations: [SchemaViolation])
    case mailboxFull(owner: String)
    case invalidChannelName(String)
    /// A config field out of range (added to the contract: historyLimit < 0, maxDeliveryAttempts < 1).
    case invalidChannelConfig(channel: String, reason: String)

    public var description: String {
        switch self {
        case .channelNotFound(let name): return "channel '\(name)' does not exist"
        case .channelExists(let name): return "channel '\(name)' already exists with a different config"
        case .schemaViolation(let channel, let violations):
            let list = violations.map { "\($0.path): \($0.message)" }.joined(separator: "; ")
            return "message rejected by the schema of channel '\(channel)': \(list)"
        case .mailboxFull(let owner): return "mailbox of '\(owner)' is full"
        case .invalidChannelName(let name):
            return "invalid channel name '\(name)': a name is 1 to 255 characters without whitespace or control "
                + "characters, and names starting with '__' are reserved (\(MessageBroker.deadLetterChannel) is "
                + "written only by the broker)"
        case .invalidChannelConfig(let channel, let reason): return "invalid config for channel '\(channel)': \(reason)"
        }
    }
}

/// Counters of one channel.
public struct ChannelStats: Sendable, Hashable, Codable {
    public var name: String
    public var type: ChannelType
    public var published: UInt64
    /// Successful deliveries (one per subscriber reached).
    public var delivered: UInt64
    /// Deliveries that threw (each attempt counts).
    public var failedDeliveries: UInt64
    public var deadLettered: UInt64
    public var subscribers: Int
    public var historySize: Int
}

/// Broker-wide counters plus one `ChannelStats` per channel (sorted by name).
public struct BrokerStats: Sendable, Hashable, Codable {
    public var channels: [ChannelStats]
    public var published: UInt64
    public var delivered: UInt64
    public var failedDeliveries: UInt64
    public var deadLettered: UInt64
    /// Dead letters currently held (at most `deadLetterLimit`).
    public var deadLetterQueueSize: Int
    /// Dead letters dropped from the queue because it was full (oldest go first).
    public var deadLettersDropped: UInt64
}
