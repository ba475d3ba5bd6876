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
    /// A stream of sends to one running process goes straight to its mailbox through
    /// `lastSendTarget`, taking no lock but the mailbox senders' one (the process lock, which the
    /// drain and lifecycle changes take, stays untouched); anything else goes through the table and
    /// the process lock, for the same errors as before.
    func enqueueDirect(to id: String, from: String, payload: JSONValue, priority: Int,
                       ttl: Duration?) throws(KernelError) -> BrokerMessage {
        let message = directMessage(to: id, from: from, payload: payload, priority: priority, ttl: ttl)
        // The target is used inside the lock, not copied out: no reference counting per send.
        let fast = lastSendTarget.withLock { t -> FastSend in
            guard let t, t.entry.id == id else { return .miss }
            switch t.box.offer(message, requireRunning: true, running: { t.entry.isRunning.load(ordering: .acquiring) }) {
            case .queued: return .done
            case .queuedAndClaimed: return .claimed(t)
            case .full: return .full
            case .receiverNotRunning: return .miss
            }
        }
        switch fast {
        case .done: return message
        case .claimed(let t): startDrain(t.entry, t.box)
        case .full: throw .messageRejected(process: id, reason: "mailbox full (\(config.mailboxCapacity) messages)")
        case .miss:
            let e = try liveEntry(id)
            let box = try enqueue(message, into: e)
            // Only a running process is remembered: a running process is always the table's entry for
            // its id (restore replaces only crashed or terminated ones), and the fast path refuses
            // anything not running (checked under the mailbox lock).
            if e.isRunning.load(ordering: .acquiring) { lastSendTarget.withLock { $0 = SendTarget(entry: e, box: box) } }
        }
        return message
    }

    private enum FastSend {
        case miss, done, full
        case claimed(SendTarget)
    }

    /// A direct message. Its timestamp comes from the coarse wall clock (`coarseNow`, one kernel tick
    /// of resolution) unless it has a TTL: its expiry is then counted from the precise clock.
    func directMessage(to id: String, from: String, payload: JSONValue, priority: Int, ttl: Duration?) -> BrokerMessage {
        let now = ttl == nil ? Kernel.coarseNow() : Date()
        return BrokerMessage(id: broker.nextMessageID(), channel: nil, from: from, to: id, payload: payload,
                             priority: priority, timestamp: now,
                             expiresAt: ttl.map { now.addingTimeInterval($0.seconds) }, attempts: 0)
    }

    /// The wall clock at the kernel tick's resolution (4 ms here), about five times cheaper than
    /// `Date()`, which was a tenth of a send's cost. Never ahead of `Date()`.
    static func coarseNow() -> Date {
        #if os(Linux)
        var ts = timespec()
        if clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0 {
            return Date(timeIntervalSince1970: Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9)
        }
        #endif
        return Date()
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
            do { _ = try enqueue(message, into: e) } catch {
                try? await journal.messageConsumed(message.id, process: id)
                throw error
            }
        } else {
            _ = try enqueue(message, into: e)
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
        guard journalEnabled else {
            _ = try enqueue(message, into: e)
            return
        }
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
            do { _ = try enqueue(m, into: e) } catch {
                broker.deadLetter(m, reason: "\(error)")
                try? await journal.messageConsumed(m.id, process: e.id)
            }
        }
        deliveryGate.leave()
    }

    /// Puts a message into the mailbox (made on the first message) and starts a drain task if the
    /// process is running and none is scheduled. Returns the mailbox.
    @discardableResult
    func enqueue(_ message: BrokerMessage, into e: ProcessEntry) throws(KernelError) -> Mailbox {
        let capacity = config.mailboxCapacity
        let (offer, box) = try e.core.withLock { c throws(KernelError) -> (Mailbox.Offer, Mailbox) in
            guard !c.state.isFinal else { throw .messageRejected(process: e.id, reason: "it is \(c.state)") }
            let box: Mailbox
            if let m = c.mailbox { box = m } else {
                box = broker.makeMailbox(owner: e.id, capacity: capacity)
                c.mailbox = box
            }
            let running = c.state == .running
            return (box.offer(message, requireRunning: false, running: { running }), box)
        }
        switch offer {
        case .full: throw .messageRejected(process: e.id, reason: "mailbox full (\(capacity) messages)")
        case .queuedAndClaimed: startDrain(e, box)
        case .queued, .receiverNotRunning: break
        }
        return box
    }

    /// Starts a drain if the process runs, has mail, and none is scheduled (after resume, recovery).
    func startDrainIfNeeded(_ e: ProcessEntry) {
        guard let box = e.core.withLock({ c in c.state == .running ? c.mailbox : nil }), box.claimConsumer() else { return }
        startDrain(e, box)
    }

    /// Runs a drain for a mailbox whose consumer the caller claimed.
    private func startDrain(_ e: ProcessEntry, _ box: Mailbox) {
        Task { await self.drain(e, box) }
    }

    /// Deliveries between two updates of the process's `messagesReceived` counter (it is also updated
    /// whenever the mailbox runs empty).
    static let counterFlushInterval = 256

    /// Delivers the mailbox one message at a time while the process runs; ends when it is empty for
    /// a few polls, or the process is not running, releasing its claim on the mailbox. Takes no
    /// process lock per message: it checks a lock-free "running" flag before each delivery and pops
    /// under the mailbox's receiver lock, which senders do not take (see `Mailbox`).
    func drain(_ e: ProcessEntry, _ box: Mailbox) async {
        let handler = e.agent.handler
        let context = ExecutionContext(kernel: self, process: e)
        let maxAttempts = max(1, config.maxDeliveryAttempts)
        let journaling = journalEnabled
        // Read once: the kernel object's fields share cache lines with what every send writes.
        let events = self.events
        let broker = self.broker
        let running = { e.isRunning.load(ordering: .acquiring) }
        var delivered = 0
        var spins = 0
        var expired: [BrokerMessage] = []
        func flushCounters() {
            guard delivered > 0 else { return }
            let n = delivered
            e.core.withLock { $0.counters.messagesReceived += n }
            delivered = 0
        }
        while true {
            guard running() else {
                // A resume that came before this release found the claim held; it is seen here.
                if box.releaseConsumer(keepGoing: running) { break }
                continue
            }
            let next = box.next(expired: &expired)
            if !expired.isEmpty {
                for m in expired {
                    broker.deadLetter(m, reason: "\(DeadLetterReason.expired) before delivery to \(e.id)")
                    await consumed(m, from: e)
                }
                expired.removeAll(keepingCapacity: true)
            }
            guard var message = next else {
                flushCounters()
                spins += 1
                // Stop only if no send slipped in: a send that found the claim held has its
                // message counted before the release looks.
                if spins > Kernel.drainIdleSpins, box.releaseConsumer(keepGoing: running) { break }
                await Task.yield()
                continue
            }
            spins = 0
            while true {
                guard running() else {
                    await putBack(message, into: e)
                    break
                }
                do {
                    try await handler.receive(message, context: context)
                    delivered += 1
                    events.emit("message.received", source: e.id, data: ["message": .number(Double(message.id)), "from": .string(message.from)])
                    if journaling { await consumed(message, from: e) }
                    break
                } catch {
                    message.attempts += 1
                    events.emit("message.failed", source: e.id, data: [
                        "message": .number(Double(message.id)), "attempt": .number(Double(message.attempts)), "error": .string("\(error)"),
                    ])
                    if message.attempts >= maxAttempts {
                        e.core.withLock { $0.counters.messagesFailed += 1 }
                        broker.deadLetter(message, reason: "\(DeadLetterReason.deliveryFailed): handler of \(e.id) failed \(message.attempts) times: \(error)")
                        await consumed(message, from: e)
                        break
                    }
                    // Retried before anything else.
                }
            }
            if delivered >= Kernel.counterFlushInterval { flushCounters() }
        }
        flushCounters()
    }

    /// Returns an undelivered message to the head of the mailbox; if the process was terminated
    /// meanwhile (its mailbox gone), dead-letters it as terminate would have. The check and the
    /// requeue are one step under the process lock, so terminate cannot empty the mailbox between them.
    private func putBack(_ message: BrokerMessage, into e: ProcessEntry) async {
        let requeued = e.core.withLock { c -> Bool in
            guard let box = c.mailbox else { return false }
            box.pushFront(message)
            return true
        }
        if !requeued { broker.deadLetter(message, reason: "process \(e.id) was terminated") }
    }

    private func consumed(_ message: BrokerMessage, from e: ProcessEntry) async {
        guard journalEnabled else { return }
        do { try await journal.messageConsumed(message.id, process: e.id) } catch {
            events.emit("journal.failed", source: e.id, data: ["message": .number(Double(message.id)), "error": .string("\(error)")])
        }
    }
}

/// The process a stream of sends goes to, with its mailbox (`Kernel.lastSendTarget`). A class, so a
/// send that looks at it retains this object only, never the entry or the mailbox, whose headers sit
/// near what the drain reads and writes.
final class SendTarget: Sendable {
    let entry: ProcessEntry
    let box: Mailbox

    init(entry: ProcessEntry, box: Mailbox) {
        self.entry = entry
        self.box = box
    }
}
