import Foundation

/// What `Kernel.recover` brought back.
public struct RecoveryReport: Sendable, Hashable {
    /// Processes back under their ids, in the state they were in.
    public var recovered: [String] = []
    /// Messages put back into mailboxes.
    public var messages: Int = 0
    /// Processes that could not come back, with why (they stay in the journal).
    public var failed: [String: String] = [:]
}

extension Kernel {
    /// Reloads processes and their mailboxes from the journal, as a node does on start (register
    /// agents and create channels first). A process comes back with its id, state, counters,
    /// subscriptions and pending messages; a running one is started again. A registered agent of the
    /// same name wins over the journaled definition, so a changed config applies.
    public func recover() async throws -> RecoveryReport {
        let contents: JournalContents
        do { contents = try await journal.load() } catch { throw KernelError.journal("cannot load: \(error)") }
        var report = RecoveryReport()
        ids.observe(counter: contents.reservedIDs)
        reservedIDs.store(contents.reservedIDs, ordering: .relaxed)
        for p in contents.processes where p.state != .terminated {
            if table.withLock({ $0.live[p.id] != nil }) {
                report.failed[p.id] = "a process with this id already exists"
                continue
            }
            let agent: AgentEntry
            if let registered = agentTable.withLock({ $0[p.agent.name] }) {
                agent = registered
            } else {
                do { agent = AgentEntry(definition: p.agent, handler: try handlers.makeHandler(for: p.agent)) } catch {
                    report.failed[p.id] = "\(error)"
                    continue
                }
            }
            var core = ProcessCore()
            core.state = p.state == .created || p.state == .starting ? .running : p.state
            core.counters = p.counters
            core.mayHaveMemory = true
            let mail = contents.mailboxes[p.id] ?? []
            if !mail.isEmpty {
                let box = broker.makeMailbox(owner: p.id, capacity: max(config.mailboxCapacity, mail.count))
                for m in mail { _ = try? box.push(m) }
                core.mailbox = box
                report.messages += mail.count
            }
            let entry = ProcessEntry(id: p.id, agent: agent, createdAt: p.createdAt, core: core)
            table.withLock { $0.live[p.id] = entry }
            ids.observe(p.id)
            for channel in p.subscriptions {
                do {
                    try broker.subscribe(channel, subscriber: p.id) { [weak self] message in
                        guard let self else { throw KernelError.processNotFound(p.id) }
                        try self.accept(message, into: entry)
                    }
                    entry.core.withLock { $0.subscriptions.append(channel) }
                } catch {
                    events.emit("process.subscriptionLost", source: p.id, data: ["channel": .string(channel), "error": .string("\(error)")])
                }
            }
            if core.state == .running {
                do { try await agent.handler.start(context: ExecutionContext(kernel: self, process: entry)) } catch {
                    await crash(entry, reason: "start failed on recovery: \(error)")
                }
            }
            events.emit("process.recovered", source: p.id, data: ["state": .string(core.state.rawValue), "messages": .number(Double(mail.count))])
            report.recovered.append(p.id)
            startDrainIfNeeded(entry)
        }
        return report
    }
}
