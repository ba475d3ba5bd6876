import Foundation
import Synchronization
import Testing
@testable import ClusterCore

@Suite struct BrokerMailboxTests {
    func message(_ id: UInt64, priority: Int = 0, expiresAt: Date? = nil) -> BrokerMessage {
        BrokerMessage(id: id, from: "sender", to: "p", payload: .number(Double(id)), priority: priority,
                      timestamp: Date(), expiresAt: expiresAt)
    }

    @Test func higherPriorityFirstAndFIFOWithinAPriority() throws {
        let box = Mailbox(owner: "p")
        let order: [(UInt64, Int)] = [(1, 0), (2, 5), (3, 0), (4, -1), (5, 5), (6, 10), (7, 0)]
        for (id, p) in order { try box.push(message(id, priority: p)) }
        var popped: [UInt64] = []
        while let m = box.pop() { popped.append(m.id) }
        #expect(popped == [6, 2, 5, 1, 3, 7, 4])
        #expect(box.count == 0)
    }

    @Test func pushReportsTheEmptyToNonEmptyEdgeOnly() throws {
        let box = Mailbox(owner: "p")
        #expect(try box.push(message(1)) == true)
        #expect(try box.push(message(2)) == false)
        _ = box.pop()
        _ = box.pop()
        #expect(try box.push(message(3)) == true)
    }

    @Test func fullMailboxRejectsWithItsOwner() throws {
        let box = Mailbox(owner: "p-7", capacity: 2)
        try box.push(message(1))
        try box.push(message(2))
        #expect(throws: BrokerError.mailboxFull(owner: "p-7")) { try box.push(message(3)) }
        #expect(box.count == 2)
        #expect(BrokerError.mailboxFull(owner: "p-7").description.contains("p-7"))
    }

    @Test func pushFrontRequeuesAtTheHeadOfItsPriority() throws {
        let box = Mailbox(owner: "p", capacity: 3)
        try box.push(message(1))
        try box.push(message(2))
        try box.push(message(3, priority: 1))
        let first = try #require(box.pop())
        #expect(first.id == 3)
        let second = try #require(box.pop())
        #expect(second.id == 1)
        box.pushFront(second)
        box.pushFront(first)       // capacity is not checked for requeues
        #expect(box.snapshot().map(\.id) == [3, 1, 2])
    }

    @Test func snapshotIsDeliveryOrderAndRemoveAllEmpties() throws {
        let box = Mailbox(owner: "p")
        try box.push(message(1))
        try box.push(message(2, priority: 2))
        try box.push(message(3, priority: 1))
        #expect(box.snapshot().map(\.id) == [2, 3, 1])
        #expect(box.count == 3)
        #expect(box.removeAll().map(\.id) == [2, 3, 1])
        #expect(box.isEmpty)
        #expect(box.pop() == nil)
    }

    @Test func popSkipsExpiredMessagesAndReportsThem() throws {
        let expired = Recorder<UInt64>()
        let box = Mailbox(owner: "p", onExpired: { expired.append($0.id) })
        let past = Date().addingTimeInterval(-1)
        try box.push(message(1, priority: 3, expiresAt: past))
        try box.push(message(2, expiresAt: Date().addingTimeInterval(3600)))
        try box.push(message(3, expiresAt: past))
        try box.push(message(4))
        #expect(box.pop()?.id == 2)
        #expect(expired.all == [1])
        #expect(box.pop()?.id == 4)
        #expect(expired.all == [1, 3])
        #expect(box.pop() == nil)
    }

    @Test func popWithExplicitClockHandsExpiredToTheCaller() throws {
        let box = Mailbox(owner: "p")
        let now = Date()
        try box.push(message(1, expiresAt: now.addingTimeInterval(10)))
        try box.push(message(2, expiresAt: now.addingTimeInterval(30)))
        var skipped: [UInt64] = []
        let m = box.pop(now: now.addingTimeInterval(20)) { skipped.append($0.id) }
        #expect(m?.id == 2)
        #expect(skipped == [1])
    }

    @Test func matchesAReferenceQueueAcrossRingWrapAndGrowth() throws {
        let box = Mailbox(owner: "p", capacity: 100_000)
        var model: [Int: [UInt64]] = [:]
        var rng = SystemRandomNumberGenerator()
        var next: UInt64 = 0
        for _ in 0..<5_000 {
            if Int.random(in: 0..<3, using: &rng) < 2 {
                next += 1
                let p = Int.random(in: 0..<3, using: &rng)
                try box.push(message(next, priority: p))
                model[p, default: []].append(next)
            } else {
                let expected = model.keys.sorted(by: >).first { !(model[$0] ?? []).isEmpty }
                let got = box.pop()
                if let p = expected {
                    #expect(got?.id == model[p]?.removeFirst())
                } else {
                    #expect(got == nil)
                }
            }
        }
        #expect(box.count == model.values.reduce(0) { $0 + $1.count })
    }

    @Test func concurrentProducersLoseNothing() async throws {
        let box = Mailbox(owner: "p", capacity: 1_000_000)
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<4 {
                group.addTask {
                    for i in 0..<2_000 { _ = try? box.push(self.message(UInt64(producer * 10_000 + i))) }
                }
            }
        }
        var ids = Set<UInt64>()
        while let m = box.pop() { ids.insert(m.id) }
        #expect(ids.count == 8_000)
    }

    @Test func brokerMailboxDeadLettersExpiredMessages() throws {
        let broker = MessageBroker(events: EventBus())
        let box = broker.makeMailbox(owner: "p")
        try box.push(message(1, expiresAt: Date().addingTimeInterval(-5)))
        #expect(box.pop() == nil)
        let letters = broker.deadLetters()
        #expect(letters.count == 1)
        #expect(letters.first?.message.id == 1)
        #expect(letters.first?.reason.hasPrefix(DeadLetterReason.expired) == true)
    }
}

/// The two halves of a mailbox (senders' inbox, receiver's queue) and the receiver claim.
@Suite struct MailboxHalvesTests {
    func message(_ id: UInt64, priority: Int = 0, from: String = "sender") -> BrokerMessage {
        BrokerMessage(id: id, from: from, to: "p", payload: .number(Double(id)), priority: priority, timestamp: Date())
    }

    @Test func arrivalsOvertakeQueuedMessagesOfLowerPriorityAtTheNextPop() throws {
        let box = Mailbox(owner: "p")
        for id: UInt64 in 1...3 { try box.push(message(id)) }
        #expect(box.pop()?.id == 1)                 // 2 and 3 are now in the receiver's queue
        try box.push(message(4, priority: 5))
        try box.push(message(5))
        try box.push(message(6, priority: 5))
        #expect(box.snapshot().map(\.id) == [4, 6, 2, 3, 5])
        var popped: [UInt64] = []
        while let m = box.pop() { popped.append(m.id) }
        #expect(popped == [4, 6, 2, 3, 5])
    }

    @Test func theBoundCountsQueuedAndArrivingMessages() throws {
        let box = Mailbox(owner: "p", capacity: 3)
        for id: UInt64 in 1...3 { try box.push(message(id)) }
        #expect(box.pop()?.id == 1)                 // 2, 3 queued on the receiver's side
        try box.push(message(4))                    // one free slot
        #expect(throws: BrokerError.mailboxFull(owner: "p")) { try box.push(message(5)) }
        #expect(box.offer(message(5), requireRunning: false, running: { true }) == .full)
        #expect(box.count == 3)
        let back = try #require(box.pop())
        box.pushFront(back)                         // a requeue is over the bound only in count
        #expect(box.count == 3)
        #expect(box.removeAll().map(\.id) == [2, 3, 4])
        #expect(box.count == 0)
        for id: UInt64 in 6...8 { try box.push(message(id)) }
        #expect(box.count == 3)
    }

    @Test func offerClaimsTheReceiverOnceAndAgainAfterItWasReleased() throws {
        let box = Mailbox(owner: "p")
        #expect(box.offer(message(1), requireRunning: true, running: { false }) == .receiverNotRunning)
        #expect(box.count == 0)
        #expect(box.offer(message(1), requireRunning: false, running: { false }) == .queued)
        #expect(box.claimConsumer())                // a resume finds mail and no receiver
        #expect(!box.claimConsumer())
        #expect(box.offer(message(2), requireRunning: true, running: { true }) == .queued)
        // Not released while mail waits and the receiver should go on.
        #expect(!box.releaseConsumer(keepGoing: { true }))
        // Released when the receiver stops (paused), even with mail left.
        #expect(box.releaseConsumer(keepGoing: { false }))
        #expect(box.offer(message(3), requireRunning: true, running: { true }) == .queuedAndClaimed)
        var expired: [BrokerMessage] = []
        var ids: [UInt64] = []
        while let m = box.next(expired: &expired) { ids.append(m.id) }
        #expect(ids == [1, 2, 3])
        #expect(box.releaseConsumer(keepGoing: { true }))
        #expect(box.storageSlots == 0)              // an idle mailbox holds no message storage
        // Wake-up after empty: the next message claims the receiver again.
        #expect(box.offer(message(4), requireRunning: true, running: { true }) == .queuedAndClaimed)
    }

    /// A mailbox with receivers started only on a claim, as the kernel does.
    final class ClaimedReceivers: Sendable {
        let box: Mailbox
        let got = Mutex<[String: [UInt64]]>([:])
        let receivers = Atomic<Int>(0)
        let overlapping = Atomic<Int>(0)
        let started = Atomic<Int>(0)
        let finished = Atomic<Int>(0)

        init(capacity: Int) { box = Mailbox(owner: "p", capacity: capacity) }

        func send(_ m: BrokerMessage) {
            guard box.offer(m, requireRunning: true, running: { true }) == .queuedAndClaimed else { return }
            started.add(1, ordering: .relaxed)
            Task { await self.receive() }
        }

        func receive() async {
            if receivers.add(1, ordering: .relaxed).newValue > 1 { overlapping.add(1, ordering: .relaxed) }
            var expired: [BrokerMessage] = []
            var spins = 0
            while true {
                if let m = box.next(expired: &expired) {
                    got.withLock { $0[m.from, default: []].append(m.id) }
                    spins = 0
                    continue
                }
                spins += 1
                if spins > 3 {
                    // Counted out first: once released, a sender may start the next receiver.
                    receivers.subtract(1, ordering: .relaxed)
                    if box.releaseConsumer(keepGoing: { true }) { break }
                    receivers.add(1, ordering: .relaxed)
                }
                await Task.yield()
            }
            finished.add(1, ordering: .relaxed)
        }
    }

    /// Many senders race receivers that start and stop: every message is taken exactly once, each
    /// sender's messages in order, and never by two receivers at once.
    @Test func racingSendersAndClaimedReceiversLoseNothing() async throws {
        let senders = 8
        let perSender = 5_000
        let race = ClaimedReceivers(capacity: senders * perSender)
        await withTaskGroup(of: Void.self) { group in
            for s in 0..<senders {
                group.addTask {
                    for i in 0..<perSender {
                        race.send(BrokerMessage(id: UInt64(s * perSender + i), from: "s\(s)", payload: .null))
                        if i % 64 == 0 { await Task.yield() }
                    }
                }
            }
        }
        #expect(await eventually {
            race.finished.load(ordering: .relaxed) == race.started.load(ordering: .relaxed) && race.box.isEmpty
        })
        let all = race.got.withLock { $0 }
        #expect(all.values.reduce(0) { $0 + $1.count } == senders * perSender)
        for s in 0..<senders {
            let base = UInt64(s * perSender)
            #expect(all["s\(s)"] == Array(base..<base + UInt64(perSender)))
        }
        #expect(race.overlapping.load(ordering: .relaxed) == 0)
        #expect(race.started.load(ordering: .relaxed) >= 1)
    }

    /// Pops racing pushes of mixed priorities from several tasks.
    final class Counted: Sendable {
        let box = Mailbox(owner: "p", capacity: 1_000_000)
        let popped = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
    }

    @Test func concurrentPushesAndPopsCountExactly() async throws {
        let c = Counted()
        let consumer = Task {
            while true {
                if c.box.pop() != nil {
                    c.popped.add(1, ordering: .relaxed)
                    continue
                }
                if c.done.load(ordering: .acquiring) && c.box.isEmpty { break }
                await Task.yield()
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for p in 0..<4 {
                group.addTask {
                    for i in 0..<10_000 {
                        _ = try? c.box.push(BrokerMessage(id: UInt64(p * 100_000 + i), from: "s", payload: .null, priority: i % 3))
                    }
                }
            }
        }
        c.done.store(true, ordering: .releasing)
        await consumer.value
        #expect(c.popped.load(ordering: .relaxed) == 40_000)
        #expect(c.box.count == 0)
    }
}

#if os(Linux)
/// glibc's size of a heap block (malloc.h is not in the Glibc module map).
@_silgen_name("malloc_usable_size")
private func mallocUsableSize(_ pointer: UnsafeMutableRawPointer) -> Int

extension BrokerMailboxTests {
    /// Idle processes must stay under 2 KB each, so an empty mailbox may hold no message storage.
    /// The object itself is the two halves' locks and counters, kept a cache line apart (see
    /// `Mailbox`), plus the senders' (empty) FIFO.
    @Test func emptyMailboxIsSmall() throws {
        let broker = MessageBroker(events: EventBus())
        let box = broker.makeMailbox(owner: "p-123456")
        let bytes = mallocUsableSize(Unmanaged.passUnretained(box).toOpaque())
        #expect(bytes <= 256, "empty mailbox takes \(bytes) bytes")
        #expect(box.storageSlots == 0)
        // After a burst drains, large storage is given back.
        for i in 0..<1_000 { try box.push(BrokerMessage(id: UInt64(i), from: "s", payload: 1)) }
        #expect(box.storageSlots >= 1_000)
        while box.pop() != nil {}
        #expect(box.storageSlots == 0)
    }
}
#endif
