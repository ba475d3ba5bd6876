import Foundation
import Synchronization

/// A subscriber's sink. Throwing means this delivery attempt failed.
public typealias BrokerDelivery = @Sendable (BrokerMessage) throws -> Void

/// The local message broker: named channels (pubsub, direct, queue) with history, optional schema
/// validation, delivery retries and a dead-letter queue that is itself a subscribable channel.
///
/// Deliveries run on the publisher's thread, never under the broker's lock, so a sink may publish,
/// subscribe or dead-letter from inside `deliver`. A sink that throws is retried immediately up to
/// the channel's `maxDeliveryAttempts`, then the message is dead-lettered for that subscriber.
/// Process mailboxes subscribe with a sink that pushes into the `Mailbox`; the kernel retries its
/// handler itself and reports final failures through `deadLetter(_:reason:)`.
public final class MessageBroker: Sendable {
    /// The channel every dead letter is published on; subscribe to it like any other channel.
    public static let deadLetterChannel = "__deadletter"

    private struct Subscriber {
        let name: String
        let deliver: BrokerDelivery
    }

    private struct Channel {
        var config: ChannelConfig
        var subscribers: [Subscriber] = []
        var nextSubscriber = 0
        var history = MessageRing<BrokerMessage>()
        var published: UInt64 = 0
        var delivered: UInt64 = 0
        var failed: UInt64 = 0
        var deadLettered: UInt64 = 0

        mutating func admit(_ m: BrokerMessage, validated: Bool) -> Admission {
            if !validated, let schema = config.schema { return .validate(schema) }
            record(m)
            let name = config.name
            let route: Route
            switch config.type {
            case .pubsub:
                route = subscribers.isEmpty ? .none : .all(subscribers)
            case .direct:
                if let to = m.to, let sub = subscribers.first(where: { $0.name == to }) {
                    route = .one(sub)
                } else if let to = m.to {
                    route = .nobody("\(DeadLetterReason.noSubscriber): '\(to)' is not subscribed to direct channel '\(name)'")
                } else {
                    route = .nobody("\(DeadLetterReason.noSubscriber): direct message on '\(name)' names no recipient")
                }
            case .queue:
                if subscribers.isEmpty {
                    route = .nobody("\(DeadLetterReason.noSubscriber): queue channel '\(name)' has no subscriber")
                } else {
                    let i = nextSubscriber % subscribers.count
                    nextSubscriber = i + 1
                    route = .one(subscribers[i])
                }
            }
            return .routed(route, maxAttempts: config.maxDeliveryAttempts)
        }

        mutating func record(_ m: BrokerMessage) {
            published += 1
            guard config.historyLimit > 0 else { return }
            if history.count >= config.historyLimit { _ = history.popFirst() }
            history.append(m)
        }
    }

    private enum Route {
        case none
        case all([Subscriber])
        case one(Subscriber)
        case nobody(String)
    }

    private enum Admission {
        case routed(Route, maxAttempts: Int)
        case validate(JSONSchema)
        case missing
    }

    private struct State {
        var channels: [String: Channel] = [:]
        var deadLetters = MessageRing<DeadLetter>()
        var published: UInt64 = 0
        var delivered: UInt64 = 0
        var failed: UInt64 = 0
        var deadLettered: UInt64 = 0
        var dropped: UInt64 = 0
    }

    /// Lets `expiredSink` exist before `self` does, without a reference cycle.
    private final class Forwarder: Sendable {
        private struct Ref: Sendable { weak var broker: MessageBroker? }
        private let ref = Mutex(Ref())
        func attach(_ broker: MessageBroker) { ref.withLock { $0.broker = broker } }
        func expired(_ m: BrokerMessage) {
            ref.withLock { $0.broker }?.deadLetter(m, reason: DeadLetterReason.expired)
        }
    }

    /// Most dead letters kept; older ones are dropped (and counted) beyond it.
    public let deadLetterLimit: Int
    /// Pass to `Mailbox(onExpired:)`: dead-letters each expired message with reason `expired`. One
    /// closure shared by every mailbox, so it costs a mailbox nothing but a reference.
    public let expiredSink: @Sendable (BrokerMessage) -> Void
    private let events: EventBus
    private let state: Mutex<State>
    private let ids = Atomic<UInt64>(0)

    /// Starts with one channel, `__deadletter`; `deadLetterLimit` bounds the dead-letter queue.
    public init(events: EventBus, deadLetterLimit: Int = 10_000) {
        self.events = events
        self.deadLetterLimit = max(0, deadLetterLimit)
        let forwarder = Forwarder()
        self.expiredSink = { forwarder.expired($0) }
        var s = State()
        s.channels[Self.deadLetterChannel] = Channel(
            config: ChannelConfig(name: Self.deadLetterChannel, type: .pubsub, historyLimit: 100))
        self.state = Mutex(s)
        forwarder.attach(self)
    }

    /// A mailbox whose expired messages are dead-lettered here.
    public func makeMailbox(owner: String, capacity: Int = 10_000) -> Mailbox {
        Mailbox(owner: owner, capacity: capacity, onExpired: expiredSink)
    }

    /// A fresh message id, unique within this broker.
    public func nextMessageID() -> UInt64 { ids.wrappingAdd(1, ordering: .relaxed).newValue }

    // MARK: Channels

    /// Creates a channel. The same config again is a no-op; a different one throws `channelExists`.
    public func createChannel(_ config: ChannelConfig) throws(BrokerError) {
        guard Self.isValidName(config.name) else { throw .invalidChannelName(config.name) }
        guard config.historyLimit >= 0 else {
            throw .invalidChannelConfig(channel: config.name, reason: "historyLimit must be 0 or more, got \(config.historyLimit)")
        }
        guard config.maxDeliveryAttempts >= 1 else {
            throw .invalidChannelConfig(channel: config.name,
                                        reason: "maxDeliveryAttempts must be at least 1, got \(config.maxDeliveryAttempts)")
        }
        let created = state.withLock { s -> Bool? in
            if let existing = s.channels[config.name] { return existing.config == config ? false : nil }
            s.channels[config.name] = Channel(config: config)
            return true
        }
        guard let created else { throw .channelExists(config.name) }
        if created {
            events.emit("channel.created", source: "broker",
                        data: ["name": .string(config.name), "type": .string(config.type.rawValue)])
        }
    }

    /// Deletes a channel with its history and subscriptions. Unknown names and `__deadletter` are ignored.
    public func deleteChannel(_ name: String) {
        guard name != Self.deadLetterChannel else { return }
        let removed = state.withLock { $0.channels.removeValue(forKey: name) }
        if removed != nil { events.emit("channel.deleted", source: "broker", data: ["name": .string(name)]) }
    }

    /// Every channel's config, `__deadletter` included, sorted by name.
    public func channels() -> [ChannelConfig] {
        state.withLock { s in s.channels.values.map(\.config) }.sorted { $0.name < $1.name }
    }

    /// The config of one channel.
    public func channel(_ name: String) -> ChannelConfig? { state.withLock { $0.channels[name]?.config } }

    // MARK: Subscriptions

    /// Adds `subscriber` to a channel; subscribing the same name again replaces its sink in place.
    public func subscribe(_ channel: String, subscriber: String, deliver: @escaping BrokerDelivery) throws(BrokerError) {
        let found = state.withLock { s -> Bool in
            guard s.channels[channel] != nil else { return false }
            let sub = Subscriber(name: subscriber, deliver: deliver)
            if let i = s.channels[channel]?.subscribers.firstIndex(where: { $0.name == subscriber }) {
                s.channels[channel]?.subscribers[i] = sub
            } else {
                s.channels[channel]?.subscribers.append(sub)
            }
            return true
        }
        if !found { throw .channelNotFound(channel) }
    }

    /// Removes one subscriber from one channel; unknown names are ignored.
    public func unsubscribe(_ channel: String, subscriber: String) {
        state.withLock { s in s.channels[channel]?.subscribers.removeAll { $0.name == subscriber } }
    }

    /// Removes `subscriber` from every channel (a process terminating).
    public func unsubscribeAll(subscriber: String) {
        state.withLock { s in
            for name in Array(s.channels.keys) { s.channels[name]?.subscribers.removeAll { $0.name == subscriber } }
        }
    }

    /// Names subscribed to a channel, in subscription order.
    public func subscribers(_ channel: String) -> [String] {
        state.withLock { $0.channels[channel]?.subscribers.map(\.name) ?? [] }
    }

    // MARK: Publishing

    /// Publishes on a channel and delivers before returning (see `ChannelType` for who receives it).
    /// Throws `channelNotFound`, `schemaViolation` (nothing recorded or delivered), or
    /// `invalidChannelName` for `__deadletter`. Undeliverable messages are dead-lettered, not thrown.
    /// - Parameters:
    ///   - to: the recipient on a direct channel (ignored by other types).
    ///   - ttl: the message expires this long after now; zero or less expires it at once.
    @discardableResult
    public func publish(_ channel: String, from: String, payload: JSONValue, priority: Int = 0,
                        to: String? = nil, ttl: Duration? = nil) throws(BrokerError) -> BrokerMessage {
        guard channel != Self.deadLetterChannel else { throw .invalidChannelName(channel) }
        let now = Date()
        let expiresAt = ttl.map { now.addingTimeInterval(Self.seconds($0)) }
        let message = BrokerMessage(id: nextMessageID(), channel: channel, from: from, to: to, payload: payload,
                                    priority: priority, timestamp: now, expiresAt: expiresAt)
        var admission = state.withLock { admit(message, in: &$0, validated: false) }
        if case .validate(let schema) = admission {
            let violations = schema.validate(payload)
            guard violations.isEmpty else { throw .schemaViolation(channel: channel, violations: violations) }
            admission = state.withLock { admit(message, in: &$0, validated: true) }
        }
        guard case .routed(let route, let maxAttempts) = admission else { throw .channelNotFound(channel) }
        events.emit("message.published", source: from,
                    data: ["channel": .string(channel), "id": .number(Double(message.id)), "from": .string(from)])
        var delivered: UInt64 = 0
        var failed: UInt64 = 0
        switch route {
        case .none: break
        case .nobody(let reason): deadLetter(message, reason: reason)
        case .one(let sub): deliver(message, to: sub, maxAttempts: maxAttempts, dead: true, &delivered, &failed)
        case .all(let subs):
            for sub in subs { deliver(message, to: sub, maxAttempts: maxAttempts, dead: true, &delivered, &failed) }
        }
        if delivered + failed > 0 { count(channel: channel, delivered: delivered, failed: failed) }
        return message
    }

    /// Records the message and picks its receivers, or asks for schema validation first.
    private func admit(_ m: BrokerMessage, in s: inout State, validated: Bool) -> Admission {
        // Mutate the channel in place: a copy of it would make its history ring non-unique and turn
        // every append into a full copy of the history.
        guard let name = m.channel, let admission = s.channels[name]?.admit(m, validated: validated) else {
            return .missing
        }
        if case .routed = admission { s.published += 1 }
        return admission
    }

    /// Calls one sink, retrying at once on a throw; dead-letters (when `dead`) after the last attempt
    /// or when the message has expired. Runs without the lock.
    private func deliver(_ m: BrokerMessage, to sub: Subscriber, maxAttempts: Int, dead: Bool,
                         _ delivered: inout UInt64, _ failed: inout UInt64) {
        var m = m
        var lastError = ""
        for attempt in 1...maxAttempts {
            if m.expiresAt != nil, m.isExpired(at: Date()) {
                if dead { deadLetter(m, reason: "\(DeadLetterReason.expired) before delivery to '\(sub.name)'") }
                return
            }
            m.attempts = attempt
            do {
                try sub.deliver(m)
                delivered += 1
                events.emit("message.delivered", source: "broker",
                            data: ["channel": .string(m.channel ?? ""), "id": .number(Double(m.id)),
                                   "subscriber": .string(sub.name), "attempts": .number(Double(attempt))])
                return
            } catch {
                failed += 1
                lastError = String(describing: error)
            }
        }
        if dead {
            deadLetter(m, reason: "\(DeadLetterReason.deliveryFailed) \(maxAttempts) times to '\(sub.name)': \(lastError)")
        }
    }

    private func count(channel: String, delivered: UInt64, failed: UInt64) {
        state.withLock { s in
            s.delivered += delivered
            s.failed += failed
            s.channels[channel]?.delivered += delivered
            s.channels[channel]?.failed += failed
        }
    }

    // MARK: Dead letters

    /// Dead-letters a message: it joins the dead-letter queue, counts against its channel, emits
    /// `message.deadlettered`, and goes to `__deadletter` subscribers (payload: `DeadLetter.json`).
    /// A failing `__deadletter` subscriber is retried but never dead-lettered again.
    public func deadLetter(_ message: BrokerMessage, reason: String) {
        let now = Date()
        let letter = DeadLetter(message: message, reason: reason, at: now)
        let wrapper = BrokerMessage(id: nextMessageID(), channel: Self.deadLetterChannel, from: "broker",
                                    payload: letter.json, priority: message.priority, timestamp: now)
        let (subscribers, maxAttempts) = state.withLock { s -> ([Subscriber], Int) in
            s.deadLettered += 1
            if let name = message.channel, s.channels[name] != nil { s.channels[name]?.deadLettered += 1 }
            if deadLetterLimit > 0 {
                if s.deadLetters.count >= deadLetterLimit {
                    _ = s.deadLetters.popFirst()
                    s.dropped += 1
                }
                s.deadLetters.append(letter)
            } else {
                s.dropped += 1
            }
            s.published += 1
            s.channels[Self.deadLetterChannel]?.record(wrapper)
            let dl = s.channels[Self.deadLetterChannel]
            return (dl?.subscribers ?? [], dl?.config.maxDeliveryAttempts ?? 1)
        }
        events.emit("message.deadlettered", source: "broker",
                    data: ["channel": message.channel.map(JSONValue.string) ?? .null,
                           "id": .number(Double(message.id)), "reason": .string(reason)])
        guard !subscribers.isEmpty else { return }
        var delivered: UInt64 = 0
        var failed: UInt64 = 0
        for sub in subscribers { deliver(wrapper, to: sub, maxAttempts: maxAttempts, dead: false, &delivered, &failed) }
        count(channel: Self.deadLetterChannel, delivered: delivered, failed: failed)
    }

    /// The newest `limit` dead letters (all when nil), oldest first.
    public func deadLetters(limit: Int? = nil) -> [DeadLetter] {
        state.withLock { s in s.deadLetters.suffix(limit ?? s.deadLetters.count) }
    }

    /// The newest `limit` messages of a channel's history (all kept when nil), oldest first.
    public func history(_ channel: String, limit: Int? = nil) -> [BrokerMessage] {
        state.withLock { s in
            guard let ring = s.channels[channel]?.history else { return [] }
            return ring.suffix(limit ?? ring.count)
        }
    }

    // MARK: Stats

    /// Broker-wide totals and per-channel counters, channels sorted by name.
    public func stats() -> BrokerStats {
        state.withLock { s in
            let channels = s.channels.values.map { c in
                ChannelStats(name: c.config.name, type: c.config.type, published: c.published, delivered: c.delivered,
                             failedDeliveries: c.failed, deadLettered: c.deadLettered,
                             subscribers: c.subscribers.count, historySize: c.history.count)
            }.sorted { $0.name < $1.name }
            return BrokerStats(channels: channels, published: s.published, delivered: s.delivered,
                               failedDeliveries: s.failed, deadLettered: s.deadLettered,
                               deadLetterQueueSize: s.deadLetters.count, deadLettersDropped: s.dropped)
        }
    }

    // MARK: Helpers

    static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255, !name.hasPrefix("__") else { return false }
        return !name.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }
    }

    static func seconds(_ d: Duration) -> TimeInterval {
        let c = d.components
        return TimeInterval(c.seconds) + TimeInterval(c.attoseconds) / 1e18
    }
}
