import Foundation
import Synchronization

/// A process's inbox: higher priority first, FIFO within a priority.
///
/// Senders and the receiver work on two halves under two locks, so a send never waits while the
/// receiver takes messages out (see `MailboxQueue` for the receiver's half):
/// - the *inbox*, under the senders' lock: a plain FIFO of arrivals, any priority. A send appends
///   and leaves; its critical section is an append and a few integer updates.
/// - the *queue*, under the receiver's lock: one ring per priority level in use, kept sorted from
///   high to low. A pop takes from it. When the queue runs empty, or when an arrival has a higher
///   priority than the next queued message, the receiver swaps the whole inbox out in one step
///   (double buffering: the inbox gets the queue's emptied ring back, so a steady stream allocates
///   nothing) and merges it in; arrivals of a single priority landing on an empty level are adopted
///   as they are, without moving a message.
/// Senders publish the highest priority waiting in the inbox (`arrivalsTop`, written only when it
/// rises, so about once per swap), and a pop compares it with the next queued message: priority order
/// is exact at every pop, while arrivals that cannot overtake stay in the inbox until the queue is
/// empty.
///
/// The bound counts both halves: `count` is messages admitted minus messages taken out. The
/// receiver publishes its running total in an atomic that a send reads only when its cached view says
/// the mailbox may be full, so under the bound the two sides share no cache line per message.
///
/// An empty mailbox holds no message storage once its receiver stops (`releaseConsumer`), or once
/// `pop()` finds it empty after a burst, because idle processes must stay small.
///
/// Expiry: `pop` never returns an expired message. It skips every expired message it meets and
/// hands each to `onExpired` (given at init) after releasing the lock; `pop(now:expired:)` hands them
/// to the caller instead. The kernel passes `MessageBroker.expiredSink` so they are dead-lettered
/// with reason `expired`.
public final class Mailbox: Sendable {
    /// The senders' half (see the type's comment).
    struct Inbox {
        var arrivals = MessageFIFO()
        /// Highest priority among `arrivals`, and whether all of them have it.
        var top = Int.min
        /// Messages ever admitted (pushes and offers; requeues count on the receiver's side).
        var admitted = 0
        /// The receiver's `taken` total as last read: `admitted - seenTaken` is never below the true
        /// count, so a send that finds room by it needs no fresh read.
        var seenTaken = 0
        var uniform = true
        /// A receiver is scheduled or running (`offer`, `claimConsumer`, `releaseConsumer`).
        var consumerScheduled = false

        /// Returns true when `top` rose (the caller publishes it in `arrivalsTop`).
        mutating func append(_ m: BrokerMessage) -> Bool {
            var raised = false
            if arrivals.isEmpty {
                top = m.priority
                uniform = true
                raised = true
            } else if m.priority != top {
                uniform = false
                if m.priority > top {
                    top = m.priority
                    raised = true
                }
            }
            arrivals.append(m)
            admitted &+= 1
            return raised
        }

        /// Forgets the shape of the arrivals once they are taken.
        mutating func reset(_ arrivalsTop: borrowing Atomic<Int>) {
            top = .min
            uniform = true
            arrivalsTop.store(.min, ordering: .releasing)
        }
    }

    /// The process (or other receiver) this inbox belongs to.
    public let owner: String
    /// Most messages it holds; `push` beyond it throws `mailboxFull`.
    public let capacity: Int
    private let onExpired: (@Sendable (BrokerMessage) -> Void)?
    // Layout matters below: the receiver's fields, then a spacer, then the senders' fields, so what
    // the two sides write per message is at least 64 bytes apart and never shares a cache line
    // (stored properties are laid out in declaration order). The read-only fields above keep the
    // object header, where retains write, away from the receiver's lock too.
    private let queue = Mutex(MailboxQueue())
    /// Messages taken out by the receiver so far, minus requeues; written under the queue lock.
    private let taken = Atomic<Int>(0)
    /// The highest priority in the inbox, `Int.min` only when it is empty (see `publishTop`); written
    /// by senders only when it rises, so an empty receiver can look without taking the senders' lock.
    private let arrivalsTop = Atomic<Int>(.min)
    private let spacer: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    private let inbox = Mutex(Inbox())

    /// - Parameter onExpired: receives each expired message `pop()` skips (called without the lock).
    public init(owner: String, capacity: Int = 10_000, onExpired: (@Sendable (BrokerMessage) -> Void)? = nil) {
        self.owner = owner
        self.capacity = max(1, capacity)
        self.onExpired = onExpired
    }

    // MARK: Senders

    /// Adds a message in priority order. Returns true if the mailbox went from empty to non-empty (the
    /// caller then schedules the receiver). Throws `mailboxFull` at capacity.
    @discardableResult
    public func push(_ m: BrokerMessage) throws(BrokerError) -> Bool {
        let outcome = inbox.withLock { s -> Int in
            s.seenTaken = taken.load(ordering: .acquiring)
            let held = s.admitted &- s.seenTaken
            guard held < capacity else { return -1 }
            if s.append(m) { publishTop(s.top) }
            return held == 0 ? 1 : 0
        }
        if outcome < 0 { throw .mailboxFull(owner: owner) }
        return outcome == 1
    }

    /// What `offer` did with a message.
    enum Offer: Equatable {
        /// Queued; a receiver is already scheduled (or the receiver is not running).
        case queued
        /// Queued, and the caller now owns the receiver: it must start one (then `releaseConsumer`).
        case queuedAndClaimed
        /// Not queued: `requireRunning` was set and `running()` said no.
        case receiverNotRunning
        /// Not queued: at capacity.
        case full
    }

    /// Publishes the inbox's top priority, never as `Int.min` (which means empty): a message of that
    /// priority publishes `Int.min + 1`, which at worst makes a pop look at the inbox once more.
    private func publishTop(_ top: Int) {
        arrivalsTop.store(max(top, Int.min + 1), ordering: .releasing)
    }

    /// The kernel's send: adds a message and, when the receiver runs and none is scheduled, claims the
    /// receiver for the caller, all under the senders' lock. `running` is read inside that lock, so a
    /// state change made before the mailbox's lock is next taken (terminate empties the mailbox after
    /// setting the state) is seen: a message is either taken out by it or refused here.
    func offer(_ m: BrokerMessage, requireRunning: Bool, running: () -> Bool) -> Offer {
        inbox.withLock { s -> Offer in
            let live = running()
            if requireRunning && !live { return .receiverNotRunning }
            if s.admitted &- s.seenTaken >= capacity {
                s.seenTaken = taken.load(ordering: .acquiring)
                if s.admitted &- s.seenTaken >= capacity { return .full }
            }
            if s.append(m) { publishTop(s.top) }
            guard live, !s.consumerScheduled else { return .queued }
            s.consumerScheduled = true
            return .queuedAndClaimed
        }
    }

    /// Claims the receiver if it holds messages and none is scheduled (after a resume, a restore).
    func claimConsumer() -> Bool {
        inbox.withLock { s -> Bool in
            guard !s.consumerScheduled, s.admitted &- taken.load(ordering: .acquiring) > 0 else { return false }
            s.consumerScheduled = true
            return true
        }
    }

    /// The receiver gives up its claim, unless messages wait and `keepGoing()` says the receiver should
    /// deliver them (read under the senders' lock: a resume or a send that found the claim still held
    /// is seen here). Returns true when released; the mailbox then gives back its message storage.
    func releaseConsumer(keepGoing: () -> Bool) -> Bool {
        let released = inbox.withLock { s -> Bool in
            if s.admitted &- taken.load(ordering: .acquiring) > 0 && keepGoing() { return false }
            s.consumerScheduled = false
            if s.arrivals.isEmpty { s.arrivals.removeAll() }
            return true
        }
        if released { queue.withLock { q in if q.count == 0 { q.releaseStorage(above: 0) } } }
        return released
    }

    // MARK: Receiver

    /// Puts a message back at the head of its priority level (after a failed delivery attempt), so it
    /// is the next one out. Ignores capacity: the message was already admitted once.
    public func pushFront(_ m: BrokerMessage) {
        queue.withLock { q in
            q.insert(m, atFront: true)
            q.taken &-= 1
            taken.store(q.taken, ordering: .releasing)
        }
    }

    /// The next live message, or nil. Expired messages met on the way go to `onExpired`.
    public func pop() -> BrokerMessage? {
        var expired: [BrokerMessage] = []
        let m = popReleasingWhenEmpty(now: nil, expired: &expired)
        if let onExpired { for e in expired { onExpired(e) } }
        return m
    }

    /// The next message live at `now`; expired ones met on the way are passed to `expired` (after the
    /// lock is released) instead of to `onExpired`.
    public func pop(now: Date, expired: (BrokerMessage) -> Void) -> BrokerMessage? {
        var skipped: [BrokerMessage] = []
        let m = popReleasingWhenEmpty(now: now, expired: &skipped)
        for e in skipped { expired(e) }
        return m
    }

    /// The drain's pop: the next live message; expired ones met on the way are appended to `expired`
    /// for the caller to dead-letter. Keeps its storage when empty: `releaseConsumer` gives it back.
    func next(expired: inout [BrokerMessage]) -> BrokerMessage? {
        queue.withLock { q -> BrokerMessage? in
            var clock: Date? = nil
            return popLive(&q, clock: &clock, expired: &expired)
        }
    }

    /// A pop for callers without a drain: finding the mailbox empty gives large storage back.
    private func popReleasingWhenEmpty(now: Date?, expired: inout [BrokerMessage]) -> BrokerMessage? {
        queue.withLock { q -> BrokerMessage? in
            var clock = now
            let m = popLive(&q, clock: &clock, expired: &expired)
            if m == nil { releaseLargeStorage(&q) }
            return m
        }
    }

    /// After a burst, keep small rings for the next message but give large ones back. Called with
    /// the queue lock held, when the queue is empty.
    private func releaseLargeStorage(_ q: inout MailboxQueue) {
        q.releaseStorage(above: 64)
        inbox.withLock { s in if s.arrivals.isEmpty && s.arrivals.capacity > 64 { s.arrivals.removeAll() } }
    }

    /// Pops the next message live at `clock` (read once, only if a message carries a TTL), moving
    /// expired ones to `expired`. Called with the queue lock held.
    private func popLive(_ q: inout MailboxQueue, clock: inout Date?, expired: inout [BrokerMessage]) -> BrokerMessage? {
        while true {
            // An empty inbox is seen without its lock, so a receiver polling an empty mailbox does not
            // contend with the senders; a message being appended right now is seen at the next poll.
            let top = arrivalsTop.load(ordering: .acquiring)
            if top != .min && (q.count == 0 || top > q.headPriority) { refill(&q) }
            guard let m = q.popFirst() else { return nil }
            taken.store(q.taken, ordering: .releasing)
            guard let expiresAt = m.expiresAt else { return m }
            let t = clock ?? Date()
            clock = t
            if expiresAt > t { return m }
            expired.append(m)
        }
    }

    /// Takes the inbox's arrivals (when the queue is empty or one of them overtakes the next queued
    /// message). Called with the queue lock held. Arrivals of one priority whose
    /// level is empty are adopted by swapping rings (the inbox gets the level's empty ring with its
    /// room back, so a steady stream allocates nothing); others are swapped out and merged after the
    /// senders' lock is released.
    private func refill(_ q: inout MailboxQueue) {
        let mixed = inbox.withLock { s -> MessageFIFO? in
            guard !s.arrivals.isEmpty else { return nil }
            defer { s.reset(arrivalsTop) }
            if s.uniform {
                let i = q.levelIndex(s.top)
                if q.levels[i].ring.isEmpty {
                    q.count += s.arrivals.count
                    swap(&q.levels[i].ring, &s.arrivals)
                    return nil
                }
            }
            var out = MessageFIFO()
            swap(&out, &s.arrivals)
            return out
        }
        if let mixed { q.merge(mixed) }
    }

    // MARK: Inspection

    /// Messages held, including any not yet found expired.
    public var count: Int {
        inbox.withLock { s in max(0, s.admitted &- taken.load(ordering: .acquiring)) }
    }

    /// Whether it holds no message.
    public var isEmpty: Bool { count == 0 }

    /// Message slots allocated in both halves (0 for a fresh or drained-after-burst mailbox).
    var storageSlots: Int {
        queue.withLock { q in q.storageSlots + inbox.withLock { $0.arrivals.capacity } }
    }

    /// Every message in delivery order, leaving them in place (for checkpoints).
    public func snapshot() -> [BrokerMessage] {
        queue.withLock { q in
            let arrivals = inbox.withLock { $0.arrivals.elements() }
            return q.ordered(with: arrivals)
        }
    }

    /// Takes every message out, in delivery order, and frees the storage.
    public func removeAll() -> [BrokerMessage] {
        queue.withLock { q in
            let arrivals = inbox.withLock { s -> [BrokerMessage] in
                let a = s.arrivals.elements()
                s.arrivals.removeAll()
                s.reset(arrivalsTop)
                return a
            }
            let all = q.ordered(with: arrivals)
            q.taken &+= all.count
            q.count = 0
            q.releaseStorage(above: 0)
            taken.store(q.taken, ordering: .releasing)
            return all
        }
    }
}
