import Foundation

extension Kernel {
    /// Polls of an empty mailbox a drain task makes (yielding between them) before it ends: a steady
    /// stream of messages then reuses one task instead of starting one per message.
    static let drainIdleSpins = 32

    /// Puts a message into a process's mailbox. With a journal, the message is recorded before this
    /// returns. Refused when the process is terminated or crashed, or its mailbox is full.
    @discardableResult
    public func send(to id: String, from: String = "kernel", payload: JSONValue, priority: Int = 0,
                     ttl: Duration? = nil) async throws -> BrokerMessage {
        try checkAcceptingWork()
        if journalEnabled {
            return try await deliverDirect(to: id, from: from, payload: payload, priority: priority, ttl: ttl)
        }
        return try enqueueDirect(to: id, from: from, payload: payload, priority: priority, ttl: ttl)
    }

    /// A direct send without a journal: synchronous, so the hot path makes no further async call.
    func enqueueDirect(to id: String, from: String, payload: JSONValue, priority: Int,
                       ttl: Duration?) throws(KernelError) -> BrokerMessage {
        let e = try sendTarget(id)
        let message = directMessage(to: id, from: from, payload: payload, priority: priority, ttl: ttl)
        try enqueue(message, into: e)
        return message
    }

    func directMessage(to id: String, from: String, payload: JSONValue, priority: Int, ttl: Duration?) -> BrokerMessage {
        let now = Date()
        return BrokerMessage(id: broker.nextMessageID(), channel: nil, from: from, to: id, payload: payload,
                             priority: priority, timestamp: now,
                             expiresAt: ttl.map { now.addingTimeInterval($0.seconds) }, attempts: 0)
    }

    /// The entry a send goes to. The last target is remembered, so a stream of sends to one process
    /// skips hashing its id into the table. Only a running entry is taken from the cache: a running
    /// process is always the table's entry for its id (restore replaces only crashed or terminated
    /// ones), and anything else goes through the table for the same errors as before.
    func sendTarget(_ id: String) throws(KernelError) -> ProcessEntry {
        if let e = lastSendTarget.withLock({ $0 }), e.id == id, e.isRunning.load(ordering: .acquiring) { return e }
        let e = try liveEntry(id)
        lastSendTarget.withLock { $0 = e }
        return e
    }

    /// `send` without the shutdown check: handlers finishing their work during a shutdown's grace
    /// period may still message.
    func deliverDirect(to id: String, from: String, payload: JSONValue, priority: Int,
                       ttl: Duration?) async throws -> BrokerMessage {
        let e = try liveEntry(id)
        let message = directMessage(to: id, from: from, payload: payload, priority: priority, ttl: ttl)
        if journalEnabled {
            try checkAccepting(e)
            do { try await journal.messageAppended(message, process: id) } catch { throw KernelError.journal("\(error)") }
            do { try enqueue(message, into: e) } catch {
                try? await journal.messageConsumed(message.id, process: id)
                throw error
            }
        } else {
            try enqueue(message, into: e)
        }
        return message
    }

    /// Publishes on a channel through the broker; with a journal, every delivery into a process
    /// mailbox is recorded before this returns.
    @discardableResult
    public func publish(_ channel: String, from: String = "kernel", payload: JSONValue, priority: Int = 0,
                        to recipient: String? = nil, ttl: Duration? = nil) async throws -> BrokerMessage {
        let message = try broker.publish(channel, from: from, payload: payload, priority: priority, to: recipient,
                                         ttl: ttl)
        if journalEnabled { await flushDeliveries() }
        return message
    }

    /// Subscribes a process to a channel: the broker delivers into its mailbox.
    public func subscribe(_ id: String, to channel: String) async throws {
        let e = try liveEntry(id)
        try checkAccepting(e)
        try broker.subscribe(channel, subscriber: id) { [weak self] message in
            guard let self else { throw KernelError.processNotFound(id) }
            try self.accept(message, into: e)
        }
        e.core.withLock { c in if !c.subscriptions.contains(channel) { c.subscriptions.append(channel) } }
        events.emit("process.subscribed", source: id, data: ["channel": .string(channel)])
        try await save(e)
    }

    public func unsubscribe(_ id: String, from channel: String) async throws {
        let e = try liveEntry(id)
        broker.unsubscribe(channel, subscriber: id)
        e.core.withLock { $0.subscriptions.removeAll { $0 == channel } }
        try await save(e)
    }

    func checkAccepting(_ e: ProcessEntry) throws(KernelError) {
        let state = e.core.withLock { $0.state }
        if state.isFinal { throw .messageRejected(process: e.id, reason: "it is \(state)") }
    }

    /// A broker delivery (synchronous). Without a journal it goes straight into the mailbox; with
    /// one it waits in `pendingDeliveries` until recorded, so nothing is handled before it is durable.
    func accept(_ message: BrokerMessage, into e: ProcessEntry) throws {
        guard journalEnabled else { return try enqueue(message, into: e) }
        try checkAccepting(e)
        let first = pendingDeliveries.withLock { p -> Bool in
            p.append((e, message))
            return p.count == 1
        }
        if first { Task { await self.flushDeliveries() } }
    }

    /// Records pending channel deliveries in the journal, then puts them into their mailboxes. The
    /// gate makes a caller wait for a flush already holding its deliveries.
    func flushDeliveries() async {
        await deliveryGate.enter()
        let batch = pendingDeliveries.withLock { p in
            let b = p
            p.removeAll()
            return b
        }
        // One task per process, so a group-committing journal records different processes' messages
        // in one transaction while each process's messages keep their order.
        var byProcess: [String: [BrokerMessage]] = [:]
        for (e, m) in batch { byProcess[e.id, default: []].append(m) }
        let journal = self.journal
        let events = self.events
        await withTaskGroup(of: Void.self) { group in
            for (pid, messages) in byProcess {
                group.addTask {
                    for m in messages {
                        do { try await journal.messageAppended(m, process: pid) } catch {
                            events.emit("journal.failed", source: pid, data: ["message": .number(Double(m.id)), "error": .string("\(error)")])
                        }
                    }
                }
            }
        }
        for (e, m) in batch {
            do { try enqueue(m, into: e) } catch {
                broker.deadLetter(m, reason: "\(error)")
                try? await journal.messageConsumed(m.id, process: e.id)
            }
        }
        deliveryGate.leave()
    }

    /// Puts a message into the mailbox and starts a drain task if the process is running and none is.
    func enqueue(_ message: BrokerMessage, into e: ProcessEntry) throws(KernelError) {
        let capacity = config.mailboxCapacity
        let startDrain = try e.core.withLock { c throws(KernelError) -> Bool in
            guard !c.state.isFinal else { throw .messageRejected(process: e.id, reason: "it is \(c.state)") }
            let box: Mailbox
            if let m = c.mailbox { box = m } else {
                box = broker.makeMailbox(owner: e.id, capacity: capacity)
                c.mailbox = box
            }
            do { _ = try box.push(message) } catch {
                throw .messageRejected(process: e.id, reason: "mailbox full (\(capacity) messages)")
            }
            guard c.state == .running, !c.draining else { return false }
            c.draining = true
            return true
        }
        if startDrain { Task { await self.drain(e) } }
    }

    func startDrainIfNeeded(_ e: ProcessEntry) {
        let start = e.core.withLock { c -> Bool in
            guard c.state == .running, !c.draining, let box = c.mailbox, box.count > 0 else { return false }
            c.draining = true
            return true
        }
        if start { Task { await self.drain(e) } }
    }

    /// Messages a drain takes per lock: fewer acquisitions of the lock senders contend for.
    static let drainBatch = 256

    /// Delivers the mailbox one message at a time while the process runs; ends when it is empty for
    /// a few polls, or the process is not running. Messages are taken in small batches; between two
    /// deliveries the drain checks the process still runs, and puts back what it did not deliver.
    func drain(_ e: ProcessEntry) async {
        let handler = e.agent.handler
        let context = ExecutionContext(kernel: self, process: e)
        let maxAttempts = max(1, config.maxDeliveryAttempts)
        let journaling = journalEnabled
        var delivered = 0
        var spins = 0
        var expired: [BrokerMessage] = []
        var batch: [BrokerMessage] = []
        batch.reserveCapacity(32)  // grows to drainBatch only while the drain is behind
        while true {
            // The process lock (which every send takes) is held only to read the state and the
            // mailbox; the batch is taken under the mailbox's own lock after it is released. A
            // message a concurrent terminate empties out is not taken; one taken just before is put
            // back or dead-lettered below, since delivery checks `isRunning` first.
            let current = e.core.withLock { c -> Mailbox? in
                c.counters.messagesReceived += delivered
                delivered = 0
                guard c.state == .running, let box = c.mailbox else { c.draining = false; return nil }
                return box
            }
            guard let box = current else { return }
            // With a journal, expired messages come back here so their records are consumed too;
            // without one, the mailbox dead-letters them itself. One mailbox lock per batch.
            box.take(upTo: Kernel.drainBatch, into: &batch, now: journaling ? Date() : nil, expired: &expired)
            var stop = false
            if batch.isEmpty && expired.isEmpty && spins >= Kernel.drainIdleSpins {
                // Stop only if no send slipped in since the take: a send pushes and reads `draining`
                // under the process lock, so one that found `draining` true has its message seen here.
                stop = e.core.withLock { c -> Bool in
                    guard box.isEmpty || c.state != .running || c.mailbox !== box else { return false }
                    c.draining = false
                    return true
                }
            }
            if !expired.isEmpty {
                for m in expired {
                    broker.deadLetter(m, reason: "\(DeadLetterReason.expired) before delivery to \(e.id)")
                    await consumed(m, from: e)
                }
                expired.removeAll(keepingCapacity: true)
            }
            if stop { return }
            if batch.isEmpty {
                spins += 1
                await Task.yield()
                continue
            }
            spins = 0
            var index = 0
            while index < batch.count {
                guard e.isRunning.load(ordering: .acquiring) else { break }
                let message = batch[index]
                index += 1
                if let expiry = message.expiresAt, expiry <= Date() {
                    broker.deadLetter(message, reason: "\(DeadLetterReason.expired) before delivery to \(e.id)")
                    await consumed(message, from: e)
                    continue
                }
                do {
                    try await handler.receive(message, context: context)
                    delivered += 1
                    events.emit("message.received", source: e.id, data: ["message": .number(Double(message.id)), "from": .string(message.from)])
                    if journaling { await consumed(message, from: e) }
                } catch {
                    var retry = message
                    retry.attempts += 1
                    events.emit("message.failed", source: e.id, data: [
                        "message": .number(Double(message.id)), "attempt": .number(Double(retry.attempts)), "error": .string("\(error)"),
                    ])
                    if retry.attempts >= maxAttempts {
                        e.core.withLock { $0.counters.messagesFailed += 1 }
                        broker.deadLetter(retry, reason: "\(DeadLetterReason.deliveryFailed): handler of \(e.id) failed \(retry.attempts) times: \(error)")
                        await consumed(message, from: e)
                    } else {
                        // Retried before anything else: back in the batch, at the current place.
                        index -= 1
                        batch[index] = retry
                    }
                }
            }
            if index < batch.count { await putBack(batch[index...], into: e) }
            batch.removeAll(keepingCapacity: true)
        }
    }

    /// Returns undelivered messages to the head of the mailbox, in order; if the process was
    /// terminated meanwhile (its mailbox gone), dead-letters them as terminate would have.
    private func putBack(_ messages: ArraySlice<BrokerMessage>, into e: ProcessEntry) async {
        let box = e.core.withLock { $0.mailbox }
        guard let box else {
            for m in messages { broker.deadLetter(m, reason: "process \(e.id) was terminated") }
            return
        }
        for m in messages.reversed() { box.pushFront(m) }
    }

    private func consumed(_ message: BrokerMessage, from e: ProcessEntry) async {
        guard journalEnabled else { return }
        do { try await journal.messageConsumed(message.id, process: e.id) } catch {
            events.emit("journal.failed", source: e.id, data: ["message": .number(Double(message.id)), "error": .string("\(error)")])
        }
    }
}
