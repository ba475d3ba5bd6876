import Foundation
import Synchronization

/// Runs a set of tasks by a `ScheduleStrategy`, honouring `dependsOn`, retries and timeouts.
///
/// Failure propagation: a task runs only if every dependency succeeded; otherwise it is `skipped`
/// with an error naming the first dependency that did not (so skipping propagates down the graph).
/// Retries: a failed or timed-out attempt is retried while attempts remain, after the policy's
/// backoff; cancellation is never retried. The random source and the sleep used for backoff are
/// injectable, so tests can check waits without waiting.
public final class Scheduler: Sendable {
    private let events: EventBus?
    private let random: @Sendable () -> Double
    private let sleep: @Sendable (Duration) async throws -> Void
    private let counters = Mutex(SchedulerStats())

    /// - Parameters:
    ///   - random: numbers in 0..<1 for backoff jitter (tests pass a seeded generator).
    ///   - sleep: waits out a backoff; throws if cancelled.
    public init(events: EventBus? = nil,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.events = events
        self.random = random
        self.sleep = sleep
    }

    /// Runs the tasks and returns one result per task, in input order. Throws before running anything
    /// if ids repeat, a dependency is unknown, or dependencies form a cycle. Cancelling the calling
    /// task cancels the running tasks; tasks not started are reported `cancelled`.
    /// - Parameter maxConcurrency: bound for `parallel` and `race` (at least 1).
    public func run(_ tasks: [ScheduledTask], strategy: ScheduleStrategy,
                    maxConcurrency: Int = 4) async throws(SchedulerError) -> [TaskResult] {
        try Self.validate(tasks)
        events?.emit("scheduler.run.started", source: "scheduler",
                     data: ["strategy": .string(strategy.rawValue), "tasks": .number(Double(tasks.count))])
        let results = await execute(tasks, strategy: strategy, maxConcurrency: maxConcurrency)
        counters.withLock { c in
            c.runs += 1
            for r in results {
                c.tasks += 1
                c.retries += UInt64(max(r.attempts - 1, 0))
                switch r.status {
                case .succeeded: c.succeeded += 1
                case .failed: c.failed += 1
                case .skipped: c.skipped += 1
                case .cancelled: c.cancelled += 1
                case .timedOut: c.timedOut += 1
                }
            }
        }
        events?.emit("scheduler.run.completed", source: "scheduler",
                     data: ["strategy": .string(strategy.rawValue),
                            "succeeded": .number(Double(results.count { $0.status == .succeeded })),
                            "tasks": .number(Double(results.count))])
        return results
    }

    /// Counters over every completed run.
    public func stats() -> SchedulerStats { counters.withLock { $0 } }

    // MARK: Validation

    /// Duplicate ids, unknown dependencies (first in input order), then cycles (named in full).
    static func validate(_ tasks: [ScheduledTask]) throws(SchedulerError) {
        var index: [String: Int] = [:]
        for (i, t) in tasks.enumerated() {
            if index[t.id] != nil { throw .duplicateTask(t.id) }
            index[t.id] = i
        }
        var deps: [[Int]] = []
        deps.reserveCapacity(tasks.count)
        for t in tasks {
            var list: [Int] = []
            for d in t.dependsOn {
                guard let j = index[d] else { throw .unknownDependency(task: t.id, dependency: d) }
                list.append(j)
            }
            deps.append(list)
        }
        if let cycle = findCycle(deps) { throw .cycle(cycle.map { tasks[$0].id }) }
    }

    /// Iterative depth-first search; returns the nodes of the first cycle found, first one repeated.
    private static func findCycle(_ deps: [[Int]]) -> [Int]? {
        var color = [UInt8](repeating: 0, count: deps.count)   // 0 new, 1 on the path, 2 done
        for root in deps.indices where color[root] == 0 {
            var path: [(node: Int, next: Int)] = [(root, 0)]
            color[root] = 1
            while let top = path.last {
                if top.next < deps[top.node].count {
                    path[path.count - 1].next += 1
                    let child = deps[top.node][top.next]
                    if color[child] == 1 {
                        let start = path.firstIndex { $0.node == child } ?? 0
                        return path[start...].map(\.node) + [child]
                    }
                    if color[child] == 0 {
                        color[child] = 1
                        path.append((child, 0))
                    }
                } else {
                    color[top.node] = 2
                    path.removeLast()
                }
            }
        }
        return nil
    }

    // MARK: Execution

    private func execute(_ tasks: [ScheduledTask], strategy: ScheduleStrategy, maxConcurrency: Int) async -> [TaskResult] {
        let n = tasks.count
        var index: [String: Int] = [:]
        for (i, t) in tasks.enumerated() { index[t.id] = i }
        let deps: [[Int]] = tasks.map { $0.dependsOn.compactMap { index[$0] } }
        let limit = strategy == .parallel || strategy == .race ? max(1, maxConcurrency) : 1
        var results = [TaskResult?](repeating: nil, count: n)
        var finished: [String: TaskResult] = [:]
        var settled = [Bool](repeating: false, count: n)
        var running = 0
        var stopReason: String?

        func record(_ i: Int, _ r: TaskResult) {
            settled[i] = true
            results[i] = r
            finished[r.id] = r
            var data: [String: JSONValue] = ["task": .string(r.id), "status": .string(r.status.rawValue),
                                             "attempts": .number(Double(r.attempts))]
            if let e = r.error { data["error"] = .string(e) }
            events?.emit("scheduler.task.finished", source: "scheduler", data: .object(data))
        }

        await withTaskGroup(of: (Int, TaskResult).self) { group in
            while true {
                var progressed = true
                while progressed {
                    progressed = false
                    for i in 0..<n where !settled[i] {
                        let id = tasks[i].id
                        if stopReason == nil, Task.isCancelled { stopReason = "not run: the run was cancelled" }
                        if let stopReason {
                            record(i, TaskResult(id: id, status: .cancelled, error: stopReason))
                            progressed = true
                            continue
                        }
                        guard deps[i].allSatisfy({ results[$0] != nil }) else { continue }
                        if let bad = deps[i].lazy.compactMap({ results[$0] }).first(where: { $0.status != .succeeded }) {
                            record(i, TaskResult(id: id, status: .skipped,
                                                 error: "dependency '\(bad.id)' did not succeed (\(bad.status.rawValue))"))
                            progressed = true
                            continue
                        }
                        guard running < limit else { break }
                        // Asked only when it is this task's turn, so it sees every earlier result.
                        if strategy == .conditional, let condition = tasks[i].condition, !condition(finished) {
                            record(i, TaskResult(id: id, status: .skipped, error: "condition was false"))
                            progressed = true
                            continue
                        }
                        settled[i] = true
                        running += 1
                        let task = tasks[i]
                        let snapshot = finished
                        group.addTask { (i, await self.runTask(task, snapshot)) }
                        progressed = true
                    }
                }
                guard running > 0, let (i, outcome) = await group.next() else { break }
                running -= 1
                var r = outcome
                switch strategy {
                case .race:
                    if let stopReason {
                        r.status = .cancelled
                        r.output = nil
                        r.error = stopReason
                    } else if r.status == .succeeded {
                        stopReason = "cancelled: '\(r.id)' won the race"
                        group.cancelAll()
                    }
                case .sequential:
                    if r.status != .succeeded, stopReason == nil {
                        stopReason = "not run: the sequential run stopped after '\(r.id)' \(r.status.rawValue)"
                    }
                case .parallel, .conditional:
                    break
                }
                record(i, r)
            }
        }
        return results.enumerated().map { i, r in
            r ?? TaskResult(id: tasks[i].id, status: .cancelled, error: "not run")
        }
    }

    /// One task with its retries. Never throws: every ending is a `TaskResult`.
    private func runTask(_ task: ScheduledTask, _ results: [String: TaskResult]) async -> TaskResult {
        let clock = ContinuousClock()
        let start = clock.now
        let maxAttempts = max(1, task.retry?.maxAttempts ?? 1)
        var attempt = 0
        func result(_ status: TaskStatus, _ output: JSONValue? = nil, _ error: String? = nil) -> TaskResult {
            TaskResult(id: task.id, status: status, output: output, error: error, attempts: attempt,
                       duration: clock.now - start)
        }
        while true {
            attempt += 1
            events?.emit("scheduler.task.started", source: "scheduler",
                         data: ["task": .string(task.id), "attempt": .number(Double(attempt))])
            let outcome = await runAttempt(task, results, timeout: task.timeout)
            let failure: (TaskStatus, String)
            switch outcome {
            case .success(let value): return result(.succeeded, value)
            case .cancelled: return result(.cancelled, nil, "cancelled")
            case .failure(let message): failure = (.failed, message)
            case .timedOut: failure = (.timedOut, "timed out after \(task.timeout ?? .zero)")
            }
            if Task.isCancelled { return result(.cancelled, nil, "cancelled") }
            guard attempt < maxAttempts, let policy = task.retry else { return result(failure.0, nil, failure.1) }
            let wait = policy.delay(beforeRetry: attempt, random: random())
            events?.emit("scheduler.task.retrying", source: "scheduler",
                         data: ["task": .string(task.id), "attempt": .number(Double(attempt)),
                                "error": .string(failure.1), "delaySeconds": .number(RetryPolicy.seconds(wait))])
            do { try await sleep(wait) } catch { return result(.cancelled, nil, "cancelled during backoff") }
            if Task.isCancelled { return result(.cancelled, nil, "cancelled during backoff") }
        }
    }
}
