import Foundation

extension Kernel {
    /// Stops taking new work (`spawn`, `execute` and `send` throw `shuttingDown`), lets running
    /// executions finish for up to `grace` (then cancels them), and checkpoints every live or
    /// crashed process into the checkpoint store with reason `shutdown`. Returns the checkpoints by
    /// process id; a process that could not be checkpointed is missing from it (an event says why).
    /// Processes stay in the table and their journal records stay as they are, so a node that
    /// restarts over the same journal recovers them.
    @discardableResult
    public func shutdown(grace: Duration = .seconds(10)) async -> [String: Data] {
        accepting.store(false, ordering: .relaxed)
        events.emit("kernel.shuttingDown", source: "kernel", data: ["graceMs": .number(grace.seconds * 1000)])
        let deadline = ContinuousClock.now + grace
        func running() -> [ProcessEntry] {
            table.withLock { Array($0.live.values) }.filter { e in e.core.withLock { !$0.executions.isEmpty } }
        }
        while !running().isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        for e in running() {
            let executions = e.core.withLock { Array($0.executions.values) }
            for x in executions { x.cancel(with: KernelError.shuttingDown) }
        }
        var out: [String: Data] = [:]
        for e in table.withLock({ Array($0.live.values) }) {
            do {
                let data = try await checkpoint(e, reason: .shutdown)
                try await checkpoints.save(data, process: e.id, reason: .shutdown)
                out[e.id] = data
            } catch {
                events.emit("checkpoint.failed", source: e.id, data: ["reason": .string("\(error)")])
            }
        }
        events.emit("kernel.stopped", source: "kernel", data: ["checkpoints": .number(Double(out.count))])
        return out
    }
}
