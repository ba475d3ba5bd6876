import Foundation

extension Kernel {
    /// Runs a task on a running process and returns its output with duration, tokens and cost.
    ///
    /// - An input-contract violation throws `ContractViolation` and leaves the process running.
    /// - A handler error crashes the process (checkpointed) and throws `KernelError.handlerFailed`.
    /// - An output-contract violation crashes the process and throws `ContractViolation`.
    /// - A timeout or an exceeded token budget cancels the work and throws; the process stays running.
    /// - Terminating the process cancels the work and throws `KernelError.terminated`; cancelling the
    ///   calling task cancels the work and throws `CancellationError`.
    public func execute(_ id: String, _ task: AgentTask) async throws -> ExecutionResult {
        try checkAcceptingWork()
        let e = try liveEntry(id)
        let def = e.agent.definition
        let control = ExecutionControl(id: executionIDs.wrappingAdd(1, ordering: .relaxed).newValue)
        try e.core.withLock { c throws(KernelError) in
            guard c.state == .running else { throw .notRunning(process: id, state: c.state) }
            guard c.executions.count < def.limits.maxConcurrentExecutions else {
                throw .concurrencyLimit(process: id, limit: def.limits.maxConcurrentExecutions)
            }
            if let budget = def.limits.tokenBudget, c.counters.tokens >= budget {
                throw .tokenBudgetExceeded(process: id, used: c.counters.tokens, budget: budget)
            }
            c.executions[control.id] = control
        }
        if let contract = def.contract {
            do { try contract.checkInput(task.input, agent: def.name) } catch {
                _ = e.core.withLock { $0.executions.removeValue(forKey: control.id) }
                emitViolation(e, error)
                throw error
            }
        }
        events.emit("execution.started", source: id, data: ["task": .string(task.name), "execution": .number(Double(control.id))])
        let timeout = def.limits.executionTimeout ?? config.defaultExecutionTimeout
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = await run(task, on: e, control: control, timeout: timeout)
        let duration = clock.now - started
        _ = e.core.withLock { $0.executions.removeValue(forKey: control.id) }

        switch outcome {
        case .success(let out):
            if out.tokens != 0 || out.cost != 0 {
                // Returned usage counts like reported usage, but the work is already done.
                try? recordUsage(e, control: control, tokens: out.tokens, cost: out.cost)
            }
            let usage = control.usage
            if let contract = def.contract {
                do { try contract.checkOutput(out.value, agent: def.name) } catch {
                    e.core.withLock { $0.counters.failedExecutions += 1 }
                    emitViolation(e, error)
                    await crash(e, reason: "output contract violated: \(error)")
                    throw error
                }
            }
            checkSLA(e, duration: duration, cost: usage.cost)
            e.core.withLock { $0.counters.executions += 1 }
            events.emit("execution.completed", source: id, data: [
                "task": .string(task.name), "durationMs": .number(duration.seconds * 1000),
                "tokens": .number(Double(usage.tokens)), "cost": .number(usage.cost),
            ])
            // The work is done and answered either way; a journal failure only costs the counters.
            do { try await save(e) } catch {
                events.emit("journal.failed", source: id, data: ["error": .string("\(error)")])
            }
            return ExecutionResult(processID: id, task: task.name, output: out.value, duration: duration,
                                   tokens: usage.tokens, cost: usage.cost)
        case .failure(let error):
            e.core.withLock { $0.counters.failedExecutions += 1 }
            switch error {
            case KernelError.timedOut, KernelError.tokenBudgetExceeded, KernelError.terminated, KernelError.shuttingDown,
                 is CancellationError:
                events.emit("execution.cancelled", source: id, data: ["task": .string(task.name), "reason": .string("\(error)")])
                throw error
            default:
                events.emit("execution.failed", source: id, data: ["task": .string(task.name), "error": .string("\(error)")])
                await crash(e, reason: "handler failed: \(error)")
                throw KernelError.handlerFailed(process: id, agent: def.name, message: "\(error)")
            }
        }
    }

    /// Runs the handler on a task of its own and waits for whichever comes first: its result, the
    /// timeout, a terminate, an exceeded budget, or the caller's cancellation.
    private func run(_ task: AgentTask, on e: ProcessEntry, control: ExecutionControl,
                     timeout: Duration?) async -> Result<AgentOutput, any Error> {
        let handler = e.agent.handler
        let context = ExecutionContext(kernel: self, process: e, control: control, task: task)
        let id = e.id
        do {
            let out = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (c: CheckedContinuation<AgentOutput, any Error>) in
                    control.wait(c)
                    let work = Task {
                        do { control.finish(.success(try await handler.execute(task, context: context))) } catch {
                            control.finish(.failure(error))
                        }
                    }
                    var timer: Task<Void, Never>?
                    if let timeout {
                        timer = Task {
                            guard (try? await Task.sleep(for: timeout)) != nil else { return }
                            control.cancel(with: KernelError.timedOut(process: id, after: timeout))
                        }
                    }
                    control.attach(work: work, timer: timer)
                }
            } onCancel: {
                control.cancel(with: CancellationError())
            }
            return .success(out)
        } catch {
            return .failure(error)
        }
    }

    /// Adds usage to an execution and its process; throws (and cancels the execution) past the budget.
    func recordUsage(_ e: ProcessEntry, control: ExecutionControl?, tokens: Int, cost: Double) throws {
        control?.addUsage(tokens: tokens, cost: cost)
        let used = e.core.withLock { c -> Int in
            c.counters.tokens = c.counters.tokens.addingSaturating(tokens)
            c.counters.cost += cost
            return c.counters.tokens
        }
        events.emit("usage.reported", source: e.id, data: ["tokens": .number(Double(tokens)), "cost": .number(cost)])
        if let budget = e.agent.definition.limits.tokenBudget, used > budget {
            let error = KernelError.tokenBudgetExceeded(process: e.id, used: used, budget: budget)
            events.emit("budget.exceeded", source: e.id, data: ["used": .number(Double(used)), "budget": .number(Double(budget))])
            control?.cancel(with: error)
            throw error
        }
    }

    private func emitViolation(_ e: ProcessEntry, _ violation: ContractViolation) {
        events.emit("contract.violated", source: e.id, data: violation.eventData)
    }

    private func checkSLA(_ e: ProcessEntry, duration: Duration, cost: Double) {
        guard let contract = e.agent.definition.contract else { return }
        for breach in contract.slaBreaches(latency: duration, cost: cost) {
            events.emit("contract.sla.\(breach.kind)", source: e.id, data: {
                guard case .object(var o) = breach.eventData else { return breach.eventData }
                o["agent"] = .string(e.agent.definition.name)
                return .object(o)
            }())
        }
    }
}
