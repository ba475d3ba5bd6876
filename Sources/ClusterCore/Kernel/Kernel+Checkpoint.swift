import Foundation

extension Kernel {
    /// Takes a checkpoint of a live or crashed process (it keeps running) and keeps it in the
    /// checkpoint store as the process's latest.
    public func checkpoint(_ id: String, reason: CheckpointReason = .manual) async throws -> Data {
        let e = try liveEntry(id)
        let data = try await checkpoint(e, reason: reason)
        try await checkpoints.save(data, process: id, reason: reason)
        return data
    }

    func checkpoint(_ e: ProcessEntry, reason: CheckpointReason) async throws -> Data {
        let (state, mail, counters, subscriptions) = e.core.withLock { c in
            (c.state, c.mailbox?.snapshot() ?? [], c.counters, c.subscriptions)
        }
        let records = try memory.list(e.id)
        let cp = Checkpoint(
            format: Checkpoint.formatID, version: Checkpoint.currentVersion,
            metadata: CheckpointMetadata(processID: e.id, agent: e.agent.definition.name, node: config.nodeID,
                                         createdAt: e.createdAt, takenAt: Date(), reason: reason),
            state: state, agent: e.agent.definition,
            memory: CheckpointMemory(namespace: e.id, records: records),
            mailbox: mail, counters: counters, subscriptions: subscriptions)
        let data = try cp.encoded()
        events.emit("checkpoint.taken", source: e.id, data: [
            "reason": .string(reason.rawValue), "bytes": .number(Double(data.count)), "state": .string(state.rawValue),
        ])
        return data
    }

    /// Inspects a checkpoint without restoring it.
    public func readCheckpoint(_ data: Data) throws(CheckpointError) -> Checkpoint {
        try Checkpoint.decode(data)
    }

    /// Brings a checkpointed process back, paused, under the same id: its memory namespace, pending
    /// mailbox, counters and subscriptions. Refused, changing nothing, when the checkpoint is bad,
    /// its handler is unknown, or a live (not crashed) process has the id.
    @discardableResult
    public func restore(_ data: Data) async throws -> String {
        let cp = try Checkpoint.decode(data)
        let id = cp.metadata.processID
        guard !id.isEmpty else { throw CheckpointError.malformed("field metadata.processID: empty") }
        if let bad = cp.counters.outOfRangeField {
            throw CheckpointError.malformed("field counters.\(bad): must be a whole number from 0 to 2^53")
        }
        // The node's own definition governs a restored process: a checkpoint is data from a client,
        // and taking its permissions, allowlist or handler at face value would let anyone who can
        // call restore raise a process's rights.
        guard let agent = agentTable.withLock({ $0[cp.agent.name] }) else {
            throw KernelError.agentNotFound(cp.agent.name)
        }
        // Another handler would not understand the state the checkpoint carries.
        guard agent.definition.handler == cp.agent.handler else {
            throw KernelError.invalidAgent(agent: cp.agent.name, reason:
                "the checkpoint was taken with handler \"\(cp.agent.handler)\", the registered agent uses \"\(agent.definition.handler)\"")
        }
        let previous = table.withLock { $0.live[id] }
        if let previous {
            let state = previous.core.withLock { $0.state }
            guard state.isFinal else { throw KernelError.processExists(id) }
        } else if table.withLock({ $0.live.count }) >= config.maxProcesses {
            throw KernelError.processLimitReached(limit: config.maxProcesses)
        }
        for channel in cp.subscriptions where !broker.channels().contains(where: { $0.name == channel }) {
            throw KernelError.invalidAgent(agent: cp.agent.name, reason: "checkpoint subscribes to channel \"\(channel)\", which does not exist")
        }

        if previous != nil { broker.unsubscribeAll(subscriber: id) }   // the crashed incarnation's sinks
        try await memory.restore(id, records: cp.memory.records)
        var core = ProcessCore()
        core.state = .paused
        core.counters = cp.counters
        core.mayHaveMemory = true
        if !cp.mailbox.isEmpty {
            let box = broker.makeMailbox(owner: id, capacity: max(config.mailboxCapacity, cp.mailbox.count))
            for m in cp.mailbox { _ = try? box.push(m) }
            core.mailbox = box
        }
        let entry = ProcessEntry(id: id, agent: agent, createdAt: cp.metadata.createdAt, core: core)
        table.withLock { t in
            t.live[id] = entry
            t.terminated[id] = nil
        }
        ids.observe(id)
        for channel in cp.subscriptions {
            try await subscribe(id, to: channel)
        }
        if journalEnabled {
            do {
                try await journal.processRemoved(id)
                try await journal.processSaved(entry.journaled())
                for m in cp.mailbox { try await journal.messageAppended(m, process: id) }
            } catch {
                throw KernelError.journal("restore of \(id) not recorded: \(error)")
            }
        }
        events.emit("process.restored", source: id, data: [
            "agent": .string(cp.agent.name), "from": .string(cp.state.rawValue),
            "messages": .number(Double(cp.mailbox.count)), "keys": .number(Double(cp.memory.records.count)),
        ])
        return id
    }

    /// The newest checkpoint the store holds for a process (for example the one taken at its crash).
    public func latestCheckpoint(_ id: String) async throws -> Data? {
        try await checkpoints.latest(process: id)
    }
}
