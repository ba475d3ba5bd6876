import Foundation
import Synchronization

/// A process's inbox: higher priority first, FIFO within a priority.
///
/// Each priority level in use is a ring buffer, levels kept sorted from high to low, so push and pop
/// are O(1) plus a scan over the (few) levels in use. An empty mailbox holds no storage at all: the
/// first push allocates it, and draining a large burst frees it again, because idle processes must
/// stay small.
///
/// Expiry: `pop` never returns an expired message. It skips every expired message it meets and
/// hands each to `onExpired` (given at init) after releasing the lock; `pop(now:expired:)` hands them
/// to the caller instead. The kernel passes `MessageBroker.expiredSink` so they are dead-lettered
/// with reason `expired`.
public final class Mailbox: Sendable {
    private struct Level {
        let priority: Int
        var ring = MessageRing<BrokerMessage>()
    }

    private struct State {
        var levels: [Level] = []
        var count = 0

        mutating func insert(_ m: BrokerMessage, atFront: Bool) {
            var i = 0
            while i < levels.count {
                if levels[i].priority == m.priority {
                    if atFront { levels[i].ring.prepend(m) } else { levels[i].ring.append(m) }
                    count += 1
                    return
                }
                if levels[i].priority < m.priority { break }
                i += 1
            }
            var level = Level(priority: m.priority)
            level.ring.append(m)
            levels.insert(level, at: i)
            count += 1
        }

        mutating func popFirst() -> BrokerMessage? {
            for i in levels.indices where !levels[i].ring.isEmpty {
                count -= 1
                let m = levels[i].ring.popFirst()
                if count == 0 { releaseLargeStorage() }
                return m
            }
            return nil
        }

        /// After a burst, keep small rings for the next message but give large ones back.
        private mutating func releaseLargeStorage() {
            if levels.contains(where: { $0.ring.capacity > 64 }) { levels = [] }
        }

        func ordered() -> [BrokerMessage] {
            var out: [BrokerMessage] = []
            out.reserveCapacity(count)
            for level in levels { out.append(contentsOf: level.ring.elements()) }
            return out
        }
    }

    /// The process (or other receiver) this inbox belongs to.
    public let owner: String
    /// Most messages it holds; `push` beyond it throws `mailboxFull`.
    public let capacity: Int
    private let onExpired: (@Sendable (BrokerMessage) -> Void)?
    private let state = Mutex(State())

    /// - Parameter onExpired: receives each expired message `pop()` skips (called without the lock).
    public init(owner: String, capacity: Int = 10_000, onExpired: (@Sendable (BrokerMessage) -> Void)? = nil) {
        self.owner = owner
        self.capacity = max(1, capacity)
        self.onExpired = onExpired
    }

    /// Adds a message in priority order. Returns true if the mailbox went from empty to non-empty (the
    /// caller then schedules the receiver). Throws `mailboxFull` at capacity.
    @discardableResult
    public func push(_ m: BrokerMessage) throws(BrokerError) -> Bool {
        let outcome = state.withLock { s -> Int in
            guard s.count < capacity else { return -1 }
            s.insert(m, atFront: false)
            return s.count == 1 ? 1 : 0
        }
        if outcome < 0 { throw .mailboxFull(owner: owner) }
        return outcome == 1
    }

    /// Puts a message back at the head of its priority level (after a failed delivery attempt), so it
    /// is the next one out. Ignores capacity: the message was already admitted once.
    public func pushFront(_ m: BrokerMessage) {
        state.withLock { $0.insert(m, atFront: true) }
    }

    /// The next live message, or nil. Expired messages met on the way go to `onExpired`.
    public func pop() -> BrokerMessage? {
        var expired: [BrokerMessage] = []
        let m = popLive(now: nil, expired: &expired)
        if let onExpired { for e in expired { onExpired(e) } }
        return m
    }

    /// The next message live at `now`; expired ones met on the way are passed to `expired` (after the
    /// lock is released) instead of to `onExpired`.
    public func pop(now: Date, expired: (BrokerMessage) -> Void) -> BrokerMessage? {
        var skipped: [BrokerMessage] = []
        let m = popLive(now: now, expired: &skipped)
        for e in skipped { expired(e) }
        return m
    }

    private func popLive(now: Date?, expired: inout [BrokerMessage]) -> BrokerMessage? {
        state.withLock { s -> BrokerMessage? in
            var clock = now
            while let m = s.popFirst() {
                guard let expiresAt = m.expiresAt else { return m }
                // Read the clock only for messages that carry a TTL, and only once per pop.
                let t = clock ?? Date()
                clock = t
                if expiresAt > t { return m }
                expired.append(m)
            }
            return nil
        }
    }

    /// Moves up to `limit` live messages, in delivery order, to the end of `batch` under one lock (a
    /// drain's batch). Expired ones met on the way go to `expired` when `now` is given, else to
    /// `onExpired` (after the lock is released). Returns how many were taken.
    @discardableResult
    public func take(upTo limit: Int, into batch: inout [BrokerMessage], now: Date? = nil,
                     expired: inout [BrokerMessage]) -> Int {
        let start = expired.count
        let taken = state.withLock { s -> Int in
            var clock = now
            var n = 0
            while n < limit, let m = s.popFirst() {
                if let expiresAt = m.expiresAt {
                    let t = clock ?? Date()
                    clock = t
                    if expiresAt <= t {
                        expired.append(m)
                        continue
                    }
                }
                batch.append(m)
                n += 1
            }
            return n
        }
        if now == nil, let onExpired, expired.count > start {
            for e in expired[start...] { onExpired(e) }
            expired.removeSubrange(start...)
        }
        return taken
    }

    /// Messages held, including any not yet found expired.
    public var count: Int { state.withLock { $0.count } }

    /// Whether it holds no message.
    public var isEmpty: Bool { count == 0 }

    /// Message slots allocated across priority levels (0 for a fresh or drained-after-burst mailbox).
    var storageSlots: Int { state.withLock { s in s.levels.reduce(0) { $0 + $1.ring.capacity } } }

    /// Every message in delivery order, leaving them in place (for checkpoints).
    public func snapshot() -> [BrokerMessage] { state.withLock { $0.ordered() } }

    /// Takes every message out, in delivery order, and frees the storage.
    public func removeAll() -> [BrokerMessage] {
        state.withLock { s in
            let all = s.ordered()
            s = State()
            return all
        }
    }
}
