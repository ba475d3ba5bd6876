import Foundation
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

#if os(Linux)
/// glibc's size of a heap block (malloc.h is not in the Glibc module map).
@_silgen_name("malloc_usable_size")
private func mallocUsableSize(_ pointer: UnsafeMutableRawPointer) -> Int

extension BrokerMailboxTests {
    /// Idle processes must stay under 2 KB each, so an empty mailbox may hold no message storage.
    @Test func emptyMailboxIsOneSmallAllocation() throws {
        let broker = MessageBroker(events: EventBus())
        let box = broker.makeMailbox(owner: "p-123456")
        let bytes = mallocUsableSize(Unmanaged.passUnretained(box).toOpaque())
        #expect(bytes <= 128, "empty mailbox takes \(bytes) bytes")
        #expect(box.storageSlots == 0)
        // After a burst drains, large storage is given back.
        for i in 0..<1_000 { try box.push(BrokerMessage(id: UInt64(i), from: "s", payload: 1)) }
        #expect(box.storageSlots >= 1_000)
        while box.pop() != nil {}
        #expect(box.storageSlots == 0)
    }
}
#endif
