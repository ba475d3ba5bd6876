import Foundation
import Synchronization
import Testing
@testable import ClusterCore

@Suite("Kernel mailboxes and channels")
struct KernelMessagingTests {
    @Test func sendDeliversOneAtATimeInPriorityOrderAndHoldsWhilePaused() async throws {
        let rec = RecordingHandler()
        let kernel = makeKernel(handlers: ["rec": rec])
        try kernel.register(AgentDefinition(name: "r", handler: "rec"))
        let pid = try await kernel.spawn("r")
        try await kernel.pause(pid)
        try await kernel.send(to: pid, payload: "low-1")
        try await kernel.send(to: pid, payload: "high", priority: 5)
        try await kernel.send(to: pid, payload: "low-2")
        try? await Task.sleep(for: .milliseconds(20))
        #expect(rec.payloads.isEmpty)
        #expect(kernel.process(pid)?.mailboxDepth == 3)
        try await kernel.resume(pid)
        #expect(await eventually { rec.payloads.count == 3 })
        #expect(rec.payloads == ["high", "low-1", "low-2"])
        #expect(await eventually { kernel.process(pid)?.counters.messagesReceived == 3 })
        await #expect(throws: KernelError.processNotFound("t-none")) { try await kernel.send(to: "t-none", payload: 1) }
    }

    @Test func failedDeliveriesAreRetriedThenDeadLettered() async throws {
        let failing = FailingHandler()
        let kernel = makeKernel(KernelConfig(nodeID: "d", maxDeliveryAttempts: 3), handlers: ["f": failing])
        try kernel.register(AgentDefinition(name: "f", handler: "f"))
        let pid = try await kernel.spawn("f")
        let m = try await kernel.send(to: pid, payload: "fail")
        #expect(await eventually { kernel.broker.deadLetters().contains { $0.message.id == m.id } })
        #expect(failing.attempts.load(ordering: .relaxed) == 3)
        let dead = try #require(kernel.broker.deadLetters().first { $0.message.id == m.id })
        #expect(dead.reason.contains("3 times"))
        #expect(kernel.process(pid)?.state == .running)   // a failed message does not crash the process
        #expect(await eventually { kernel.process(pid)?.counters.messagesFailed == 1 })
    }

    @Test func expiredMessagesAreDeadLettered() async throws {
        let rec = RecordingHandler()
        let kernel = makeKernel(handlers: ["rec": rec])
        try kernel.register(AgentDefinition(name: "r", handler: "rec"))
        let pid = try await kernel.spawn("r")
        try await kernel.pause(pid)
        let m = try await kernel.send(to: pid, payload: "soon gone", ttl: .milliseconds(1))
        try await kernel.send(to: pid, payload: "stays")
        try? await Task.sleep(for: .milliseconds(10))
        try await kernel.resume(pid)
        #expect(await eventually { rec.payloads == ["stays"] })
        #expect(kernel.broker.deadLetters().contains { $0.message.id == m.id && $0.reason.contains("expired") })
    }

    @Test func subscribedProcessesGetChannelMessages() async throws {
        let rec = RecordingHandler()
        let kernel = makeKernel(handlers: ["rec": rec])
        try kernel.register(AgentDefinition(name: "r", handler: "rec"))
        try kernel.broker.createChannel(ChannelConfig(name: "news", type: .pubsub))
        let a = try await kernel.spawn("r")
        let b = try await kernel.spawn("r")
        try await kernel.subscribe(a, to: "news")
        try await kernel.subscribe(b, to: "news")
        #expect(kernel.process(a)?.subscriptions == ["news"])
        try await kernel.publish("news", payload: "hi")
        #expect(await eventually { rec.payloads == ["hi", "hi"] })
        try await kernel.unsubscribe(b, from: "news")
        try await kernel.publish("news", payload: "again")
        #expect(await eventually { rec.payloads.count == 3 })
        await #expect(throws: (any Error).self) { try await kernel.subscribe(a, to: "missing") }
    }

    @Test func terminateDeadLettersPendingMail() async throws {
        let kernel = makeKernel(handlers: ["rec": RecordingHandler()])
        try kernel.register(AgentDefinition(name: "r", handler: "rec"))
        let pid = try await kernel.spawn("r")
        try await kernel.pause(pid)
        let m = try await kernel.send(to: pid, payload: 1)
        try await kernel.terminate(pid)
        #expect(kernel.broker.deadLetters().contains { $0.message.id == m.id && $0.reason.contains("terminated") })
        await #expect(throws: KernelError.processNotFound(pid)) { try await kernel.send(to: pid, payload: 2) }
    }

    @Test func mailboxCapacityRefusesSends() async throws {
        let kernel = makeKernel(KernelConfig(nodeID: "c", mailboxCapacity: 2), handlers: ["rec": RecordingHandler()])
        try kernel.register(AgentDefinition(name: "r", handler: "rec"))
        let pid = try await kernel.spawn("r")
        try await kernel.pause(pid)
        try await kernel.send(to: pid, payload: 1)
        try await kernel.send(to: pid, payload: 2)
        await #expect(throws: KernelError.self) { try await kernel.send(to: pid, payload: 3) }
    }

    @Test func handlersSendToEachOther() async throws {
        struct Forwarder: AgentHandler {
            func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
                let to = task.input["to"]?.stringValue ?? ""
                try await context.send(to: to, task.input["payload"] ?? .null)
                return AgentOutput(.null)
            }
        }
        let rec = RecordingHandler()
        let kernel = makeKernel(handlers: ["rec": rec, "fwd": Forwarder()])
        try kernel.register(AgentDefinition(name: "r", handler: "rec"))
        try kernel.register(AgentDefinition(name: "f", handler: "fwd"))
        let r = try await kernel.spawn("r")
        let f = try await kernel.spawn("f")
        _ = try await kernel.execute(f, AgentTask(input: ["to": .string(r), "payload": "relayed"]))
        #expect(await eventually { rec.payloads == ["relayed"] })
    }
}

@Suite("Kernel delivery order")
struct KernelDeliveryOrderTests {
    /// Tracks how many `receive` calls overlap.
    final class Overlap: AgentHandler {
        let inside = Atomic<Int>(0)
        let most = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput { AgentOutput(.null) }
        func receive(_ message: BrokerMessage, context: ExecutionContext) async throws {
            let now = inside.add(1, ordering: .relaxed).newValue
            var seen = most.load(ordering: .relaxed)
            while now > seen {
                let (ok, was) = most.compareExchange(expected: seen, desired: now, ordering: .relaxed)
                if ok { break }
                seen = was
            }
            await Task.yield()
            inside.subtract(1, ordering: .relaxed)
            done.add(1, ordering: .relaxed)
        }
    }

    @Test func messagesAreDeliveredOneAtATime() async throws {
        let overlap = Overlap()
        let kernel = makeKernel(handlers: ["o": overlap])
        try kernel.register(AgentDefinition(name: "o", handler: "o"))
        let pid = try await kernel.spawn("o")
        await withTaskGroup(of: Void.self) { group in
            for s in 0..<4 {
                group.addTask { for i in 0..<50 { _ = try? await kernel.send(to: pid, from: "s\(s)", payload: .number(Double(i))) } }
            }
        }
        #expect(await eventually { overlap.done.load(ordering: .relaxed) == 200 })
        #expect(overlap.most.load(ordering: .relaxed) == 1)
    }
}

@Suite("Kernel pause during delivery")
struct KernelPauseDuringDeliveryTests {
    /// Pauses its own process when it receives 3.
    final class PauseAtThree: AgentHandler {
        let seen = Mutex<[Int]>([])
        func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput { AgentOutput(.null) }
        func receive(_ message: BrokerMessage, context: ExecutionContext) async throws {
            let n = message.payload.intValue ?? -1
            seen.withLock { $0.append(n) }
            if n == 3 { try await context.kernel.pause(context.processID) }
        }
    }

    @Test func pausingHoldsTheRestInOrder() async throws {
        let handler = PauseAtThree()
        let kernel = makeKernel(handlers: ["p": handler])
        try kernel.register(AgentDefinition(name: "p", handler: "p"))
        let pid = try await kernel.spawn("p")
        try await kernel.pause(pid)
        for i in 1...10 { try await kernel.send(to: pid, payload: .number(Double(i))) }
        try await kernel.resume(pid)
        #expect(await eventually { kernel.process(pid)?.state == .paused && kernel.process(pid)?.mailboxDepth == 7 })
        #expect(handler.seen.withLock { $0 } == [1, 2, 3])
        try await kernel.resume(pid)
        #expect(await eventually { handler.seen.withLock { $0.count } == 10 })
        #expect(handler.seen.withLock { $0 } == Array(1...10))
    }
}

@Suite("Kernel mailbox under load")
struct KernelMailboxLoadTests {
    /// Counts deliveries per sender, checking each sender's messages arrive in order.
    final class PerSender: AgentHandler {
        let last = Mutex<[String: Int]>([:])
        let outOfOrder = Atomic<Int>(0)
        let total = Atomic<Int>(0)
        func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput { AgentOutput(.null) }
        func receive(_ message: BrokerMessage, context: ExecutionContext) async throws {
            let n = message.payload.intValue ?? -1
            let ok = last.withLock { l -> Bool in
                defer { l[message.from] = n }
                return n == (l[message.from] ?? -1) + 1
            }
            if !ok { outOfOrder.add(1, ordering: .relaxed) }
            total.add(1, ordering: .relaxed)
        }
    }

    @Test func manySendersToOneProcessDeliverEveryMessageOnceInOrder() async throws {
        let handler = PerSender()
        let kernel = makeKernel(KernelConfig(nodeID: "l", mailboxCapacity: 100_000), handlers: ["p": handler])
        try kernel.register(AgentDefinition(name: "p", handler: "p"))
        let pid = try await kernel.spawn("p")
        let senders = 6
        let each = 3_000
        await withTaskGroup(of: Void.self) { group in
            for s in 0..<senders {
                group.addTask {
                    for i in 0..<each { _ = try? await kernel.send(to: pid, from: "s\(s)", payload: .number(Double(i))) }
                }
            }
        }
        #expect(await eventually { handler.total.load(ordering: .relaxed) == senders * each })
        #expect(handler.outOfOrder.load(ordering: .relaxed) == 0)
        #expect(await eventually { kernel.process(pid)?.counters.messagesReceived == senders * each })
        #expect(kernel.process(pid)?.mailboxDepth == 0)
    }

    final class Tally: Sendable { let count = Atomic<Int>(0) }

    /// Holds the first message until `open` is set, recording payloads in order.
    final class Gate: AgentHandler {
        let open = Atomic<Bool>(false)
        let seen = Mutex<[String]>([])
        func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput { AgentOutput(.null) }
        func receive(_ message: BrokerMessage, context: ExecutionContext) async throws {
            seen.withLock { $0.append(message.payload.stringValue ?? "") }
            let deadline = ContinuousClock.now + .seconds(10)
            while !open.load(ordering: .acquiring) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    @Test func higherPriorityGoesFirstWhileTheRunningReceiverIsBehind() async throws {
        let gate = Gate()
        let kernel = makeKernel(handlers: ["g": gate])
        try kernel.register(AgentDefinition(name: "g", handler: "g"))
        let pid = try await kernel.spawn("g")
        try await kernel.send(to: pid, payload: "first")
        #expect(await eventually { gate.seen.withLock { $0 } == ["first"] })
        try await kernel.send(to: pid, payload: "low-1")
        try await kernel.send(to: pid, payload: "low-2")
        try await kernel.send(to: pid, payload: "high", priority: 9)
        try await kernel.send(to: pid, payload: "low-3")
        gate.open.store(true, ordering: .releasing)
        #expect(await eventually { gate.seen.withLock { $0.count } == 5 })
        #expect(gate.seen.withLock { $0 } == ["first", "high", "low-1", "low-2", "low-3"])
    }

    /// Sends racing a terminate: every accepted message is delivered or dead-lettered as
    /// terminated; none is lost.
    @Test func sendsRacingTerminateAreDeliveredOrDeadLettered() async throws {
        for round in 0..<5 {
            let handler = PerSender()
            let kernel = makeKernel(KernelConfig(nodeID: "r\(round)", mailboxCapacity: 100_000), handlers: ["p": handler])
            try kernel.register(AgentDefinition(name: "p", handler: "p"))
            let pid = try await kernel.spawn("p")
            let accepted = Tally()
            await withTaskGroup(of: Void.self) { group in
                for s in 0..<3 {
                    group.addTask {
                        for i in 0..<2_000 {
                            if (try? await kernel.send(to: pid, from: "s\(s)", payload: .number(Double(i)))) != nil {
                                accepted.count.add(1, ordering: .relaxed)
                            }
                        }
                    }
                }
                group.addTask {
                    await Task.yield()
                    try? await kernel.terminate(pid)
                }
            }
            let terminated = { kernel.broker.deadLetters().filter { $0.message.to == pid && $0.reason.contains("terminated") }.count }
            #expect(await eventually {
                handler.total.load(ordering: .relaxed) + terminated() == accepted.count.load(ordering: .relaxed)
            })
            #expect(handler.outOfOrder.load(ordering: .relaxed) == 0)
        }
    }
}
