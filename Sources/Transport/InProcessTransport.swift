import Foundation
import Synchronization

/// A transport inside one process: the embedded node's bus and the test kit's wire.
/// It follows the NATS semantics the protocols rely on (subject wildcards, queue groups picking one
/// member, no-responders on requests, a payload limit, a bounded pending buffer per subscription).
public final class InProcessTransport: Transport {
    /// Largest payload accepted, as NATS's default `max_payload` (1 MiB).
    public let maxPayload: Int
    /// Messages a subscription may hold undelivered before new ones are dropped (a slow consumer).
    public let pendingLimit: Int

    private struct Sub {
        let filter: String
        let queue: String?
        let continuation: AsyncStream<TransportMessage>.Continuation
    }

    private struct State {
        var subs: [UInt64: Sub] = [:]
        var nextID: UInt64 = 1
        var queueCursor: [String: Int] = [:]
        var closed = false
        var dropped: UInt64 = 0
    }

    private let state = Mutex(State())
    private let inboxPrefix: String
    private let inboxCounter = Atomic<UInt64>(0)

    /// Creates an empty bus.
    public init(maxPayload: Int = 1 << 20, pendingLimit: Int = 65_536) {
        self.maxPayload = maxPayload
        self.pendingLimit = pendingLimit
        self.inboxPrefix = "_INBOX." + String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// Messages dropped because a subscriber was too slow (its pending buffer was full).
    public var droppedMessages: UInt64 { state.withLock { $0.dropped } }

    public func publish(_ subject: String, payload: Data, replyTo: String?) throws {
        guard Subject.isValidPublish(subject) else { throw TransportError.invalidSubject(subject) }
        guard payload.count <= maxPayload else {
            throw TransportError.payloadTooLarge(size: payload.count, limit: maxPayload)
        }
        let targets = try state.withLock { s -> [AsyncStream<TransportMessage>.Continuation] in
            if s.closed { throw TransportError.closed }
            return Self.route(subject, in: &s)
        }
        guard !targets.isEmpty else { return }
        let message = TransportMessage(subject: subject, payload: payload, replyTo: replyTo)
        var drops: UInt64 = 0
        for c in targets {
            if case .dropped = c.yield(message) { drops += 1 }
        }
        if drops > 0 { state.withLock { $0.dropped += drops } }
    }

    /// Every plain subscriber that matches, plus one member of each matching queue group.
    private static func route(_ subject: String, in s: inout State) -> [AsyncStream<TransportMessage>.Continuation] {
        var out: [AsyncStream<TransportMessage>.Continuation] = []
        var groups: [String: [(UInt64, Sub)]] = [:]
        for (id, sub) in s.subs where Subject.matches(filter: sub.filter, subject: subject) {
            if let q = sub.queue {
                groups[sub.filter + " " + q, default: []].append((id, sub))
            } else {
                out.append(sub.continuation)
            }
        }
        for (key, members) in groups {
            let ordered = members.sorted { $0.0 < $1.0 }
            let cursor = s.queueCursor[key, default: 0]
            out.append(ordered[cursor % ordered.count].1.continuation)
            s.queueCursor[key] = cursor &+ 1
        }
        return out
    }

    public func subscribe(_ subject: String, queue: String?) throws -> TransportSubscription {
        guard Subject.isValidFilter(subject) else { throw TransportError.invalidSubject(subject) }
        let (stream, continuation) = AsyncStream<TransportMessage>.makeStream(
            bufferingPolicy: .bufferingOldest(pendingLimit))
        let id = try state.withLock { s -> UInt64 in
            if s.closed { throw TransportError.closed }
            let id = s.nextID
            s.nextID += 1
            s.subs[id] = Sub(filter: subject, queue: queue, continuation: continuation)
            return id
        }
        return TransportSubscription(subject: subject, queue: queue, messages: stream) { [weak self] in
            let removed = self?.state.withLock { $0.subs.removeValue(forKey: id) }
            removed?.continuation.finish()
            if self == nil { continuation.finish() }
        }
    }

    public func request(_ subject: String, payload: Data, timeout: Duration) async throws -> TransportMessage {
        let inbox = newInbox()
        let sub = try subscribe(inbox, queue: nil)
        defer { sub.unsubscribe() }
        let hasResponder = state.withLock { s in
            s.subs.values.contains { Subject.matches(filter: $0.filter, subject: subject) }
        }
        guard hasResponder else { throw TransportError.noResponders(subject: subject) }
        try publish(subject, payload: payload, replyTo: inbox)
        return try await firstMessage(of: sub, subject: subject, timeout: timeout)
    }

    public func flush(timeout: Duration) async throws {
        if state.withLock({ $0.closed }) { throw TransportError.closed }
    }

    public func newInbox() -> String {
        let n = inboxCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return inboxPrefix + "." + String(n)
    }

    /// Ends every subscription; later calls throw `closed`.
    public func close() {
        let subs = state.withLock { s -> [Sub] in
            s.closed = true
            defer { s.subs.removeAll() }
            return Array(s.subs.values)
        }
        for sub in subs { sub.continuation.finish() }
    }
}

/// Waits for the first message of a subscription, or throws `timeout`. Shared by transports.
public func firstMessage(of sub: TransportSubscription, subject: String, timeout: Duration) async throws -> TransportMessage {
    try await withThrowingTaskGroup(of: TransportMessage?.self) { group in
        group.addTask {
            for await m in sub.messages { return m }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        if let first = try await group.next(), let m = first { return m }
        throw TransportError.timeout(subject: subject)
    }
}
