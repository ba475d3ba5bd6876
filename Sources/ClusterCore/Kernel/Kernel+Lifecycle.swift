import Foundation

extension Kernel {
    /// Spawns a process of a registered agent and starts it; returns its id once it is running
    /// (and, with a journal, recorded).
    @discardableResult
    public func spawn(_ agent: String) async throws -> String {
        try checkAcceptingWork()
        guard let a = agentTable.withLock({ $0[agent] }) else { throw KernelError.agentNotFound(agent) }
        let (id, counter) = ids.next()
        if journalEnabled, counter > reservedIDs.load(ordering: .relaxed) { try await reserveIDs(through: counter) }
        let entry = ProcessEntry(id: id, agent: a)
        try table.withLock { t throws(KernelError) in
            guard t.live.count < config.maxProcesses else { throw .processLimitReached(limit: config.maxProcesses) }
            t.live[id] = entry
        }
        events.emit("process.spawned", source: id, data: ["agent": .string(agent)])
        try transition(entry, to: .starting)
        do {
            try await a.handler.start(context: ExecutionContext(kernel: self, process: entry))
        } catch {
            await crash(entry, reason: "start failed: \(error)")
            throw KernelError.startFailed(process: id, message: "\(error)")
        }
        try transition(entry, to: .running)
        if journalEnabled {
            do {
                try await journal.processSaved(entry.journaled())
            } catch {
                // Not recorded means not acknowledged: take the process back.
                try? await terminate(id)
                throw KernelError.journal("spawn of \(id) not recorded: \(error)")
            }
        }
        return id
    }

    /// Spawns `count` processes of one agent.
    public func spawn(_ agent: String, count: Int) async throws -> [String] {
        var out: [String] = []
        out.reserveCapacity(max(0, count))
        for _ in 0..<max(0, count) { out.append(try await spawn(agent)) }
        return out
    }

    /// Pauses a running process: nothing new executes and its mailbox holds its messages.
    public func pause(_ id: String) async throws {
        let e = try liveEntry(id)
        try transition(e, to: .paused)
        try await save(e)
    }

    /// Resumes a paused process and delivers any mail that waited.
    public func resume(_ id: String) async throws {
        let e = try liveEntry(id)
        try transition(e, to: .running)
        try await save(e)
        startDrainIfNeeded(e)
    }

    /// Terminates a process: cancels its running executions, dead-letters its pending mail, drops
    /// its subscriptions and (unless its agent's memory is persistent) its memory namespace.
    /// Terminating a terminated process does nothing.
    public func terminate(_ id: String) async throws {
        guard let e = table.withLock({ $0.live[id] }) else {
            if table.withLock({ $0.terminated[id] != nil }) { return }
            throw KernelError.processNotFound(id)
        }
        struct Taken { var previous: ProcessState; var executions: [ExecutionControl]; var mail: [BrokerMessage]
                       var subscribed: Bool; var memory: Bool; var counters: ProcessCounters }
        let taken = e.core.withLock { c -> Taken? in
            guard c.state != .terminated else { return nil }
            let previous = c.state
            // State first, then the mailbox: a send that found the process running under the
            // mailbox's lock is emptied out with the rest (see `Mailbox.offer`).
            e.setState(.terminated, in: &c)
            let t = Taken(previous: previous, executions: Array(c.executions.values), mail: c.mailbox?.removeAll() ?? [],
                          subscribed: !c.subscriptions.isEmpty, memory: c.mayHaveMemory, counters: c.counters)
            c.executions = [:]
            c.mailbox = nil
            return t
        }
        guard let taken else { return }
        let snapshot = e.snapshot()
        table.withLock { $0.retire(snapshot, limit: config.terminatedRetention) }
        retired.withLock { $0.add(taken.counters) }
        for x in taken.executions { x.cancel(with: KernelError.terminated(process: id)) }
        if taken.subscribed { broker.unsubscribeAll(subscriber: id) }
        for m in taken.mail { broker.deadLetter(m, reason: "process \(id) was terminated") }
        if taken.previous != .crashed {
            await e.agent.handler.stop(context: ExecutionContext(kernel: self, process: e))
        }
        // Keys may also have been written from outside the handler (an API call naming the
        // namespace), so an untouched-looking namespace is checked, which costs one read.
        if !e.agent.definition.persistentMemory && (taken.memory || !((try? memory.list(id))?.isEmpty ?? true)) {
            do { try await memory.clear(id) } catch {
                events.emit("process.memoryNotCleared", source: id, data: ["error": .string("\(error)")])
            }
        }
        events.emit("process.terminated", source: id, data: ["from": .string(taken.previous.rawValue)])
        if journalEnabled { try await journal.processRemoved(id) }
    }

    /// Moves a process along the lifecycle, or throws naming both states.
    func transition(_ e: ProcessEntry, to next: ProcessState) throws(KernelError) {
        let previous = try e.core.withLock { c throws(KernelError) -> ProcessState in
            guard c.state.canTransition(to: next) else {
                throw .illegalTransition(process: e.id, from: c.state, to: next)
            }
            let p = c.state
            e.setState(next, in: &c)
            return p
        }
        let type: String
        switch next {
        case .created: type = "process.created"
        case .starting: type = "process.starting"
        case .running: type = previous == .paused ? "process.resumed" : "process.started"
        case .paused: type = "process.paused"
        case .terminated: type = "process.terminated"
        case .crashed: type = "process.crashed"
        }
        events.emit(type, source: e.id, data: ["from": .string(previous.rawValue), "agent": .string(e.agent.definition.name)])
    }

    /// Crashes a process (unless already terminated or crashed), checkpoints it into the checkpoint
    /// store, and records the state.
    func crash(_ e: ProcessEntry, reason: String) async {
        let crashed = e.core.withLock { c -> Bool in
            guard !c.state.isFinal else { return false }
            e.setState(.crashed, in: &c)
            return true
        }
        guard crashed else { return }
        events.emit("process.crashed", source: e.id, data: ["agent": .string(e.agent.definition.name), "reason": .string(reason)])
        if config.checkpointOnCrash {
            do {
                let data = try await checkpoint(e, reason: .crash)
                try await checkpoints.save(data, process: e.id, reason: .crash)
            } catch {
                events.emit("checkpoint.failed", source: e.id, data: ["reason": .string("\(error)")])
            }
        }
        try? await save(e)
    }

    /// Records in the journal that ids up to a block past `counter` may be used.
    func reserveIDs(through counter: UInt64) async throws {
        let upTo = counter + Kernel.idReservationBlock
        do { try await journal.idsReserved(upTo: upTo) } catch { throw KernelError.journal("cannot reserve ids: \(error)") }
        var current = reservedIDs.load(ordering: .relaxed)
        while current < upTo {
            let (done, original) = reservedIDs.compareExchange(expected: current, desired: upTo, ordering: .relaxed)
            if done { break }
            current = original
        }
    }

    /// Records the process's current state in the journal (when there is one).
    func save(_ e: ProcessEntry) async throws {
        guard journalEnabled else { return }
        do { try await journal.processSaved(e.journaled()) } catch { throw KernelError.journal("\(error)") }
    }
}

extension ProcessEntry {
    func journaled() -> JournaledProcess {
        core.withLock { c in
            JournaledProcess(id: id, agent: agent.definition, state: c.state, createdAt: createdAt,
                             counters: c.counters, subscriptions: c.subscriptions)
        }
    }
}

extension ProcessCounters {
    mutating func add(_ o: ProcessCounters) {
        executions = executions.addingSaturating(o.executions)
        failedExecutions = failedExecutions.addingSaturating(o.failedExecutions)
        tokens = tokens.addingSaturating(o.tokens)
        cost += o.cost
        messagesReceived = messagesReceived.addingSaturating(o.messagesReceived)
        messagesFailed = messagesFailed.addingSaturating(o.messagesFailed)
    }
}

extension Int {
    /// `self + other`, stopping at the bounds instead of trapping: counters fed by clients and
    /// restored checkpoints must never crash the node.
    func addingSaturating(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

extension ProcessCounters {
    /// The first counter outside 0...2^53 (what JSON carries exactly), or nil when all are in range.
    var outOfRangeField: String? {
        let limit = 1 << 53
        let fields: [(String, Int)] = [("executions", executions), ("failedExecutions", failedExecutions),
                                       ("tokens", tokens), ("messagesReceived", messagesReceived),
                                       ("messagesFailed", messagesFailed)]
        if let bad = fields.first(where: { $0.1 < 0 || $0.1 > limit }) { return bad.0 }
        return cost.isFinite && cost >= 0 ? nil : "cost"
    }
}
