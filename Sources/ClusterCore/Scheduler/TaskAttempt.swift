import Synchronization

/// How one attempt of a task ended.
enum AttemptOutcome: Sendable {
    case success(JSONValue)
    case failure(String)
    case timedOut
    case cancelled
}

/// Runs one attempt, bounded by `timeout` when given.
///
/// With a timeout the work runs on a task of its own and races a timer; whichever ends first decides,
/// and the other is cancelled. The call returns at the deadline even if the work ignores
/// cancellation (it is left to finish in the background, its result discarded).
func runAttempt(_ task: ScheduledTask, _ results: [String: TaskResult], timeout: Duration?) async -> AttemptOutcome {
    guard let timeout else { return await runBare(task, results) }
    let race = AttemptRace()
    return await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<AttemptOutcome, Never>) in
            race.begin(continuation)
            let work = Task { race.finish(await runBare(task, results)) }
            let timer = Task {
                do { try await Task.sleep(for: timeout) } catch { return }
                race.finish(.timedOut)
            }
            race.attach(work: work, timer: timer)
        }
    } onCancel: {
        race.finish(.cancelled)
    }
}

private func runBare(_ task: ScheduledTask, _ results: [String: TaskResult]) async -> AttemptOutcome {
    do {
        return .success(try await task.run(results))
    } catch {
        return error is CancellationError || Task.isCancelled ? .cancelled : .failure(String(describing: error))
    }
}

/// First outcome wins: resumes the waiting continuation once and cancels the losers.
private final class AttemptRace: Sendable {
    private struct State {
        var continuation: CheckedContinuation<AttemptOutcome, Never>?
        var outcome: AttemptOutcome?
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    func begin(_ c: CheckedContinuation<AttemptOutcome, Never>) {
        // Cancellation may have decided the outcome before the continuation existed.
        let decided = state.withLock { s -> AttemptOutcome? in
            if let o = s.outcome { return o }
            s.continuation = c
            return nil
        }
        if let decided { c.resume(returning: decided) }
    }

    func attach(work: Task<Void, Never>, timer: Task<Void, Never>) {
        let finished = state.withLock { s -> Bool in
            if s.outcome != nil { return true }
            s.tasks = [work, timer]
            return false
        }
        if finished {
            work.cancel()
            timer.cancel()
        }
    }

    func finish(_ o: AttemptOutcome) {
        let (continuation, tasks) = state.withLock { s -> (CheckedContinuation<AttemptOutcome, Never>?, [Task<Void, Never>]) in
            guard s.outcome == nil else { return (nil, []) }
            s.outcome = o
            let c = s.continuation
            s.continuation = nil
            let t = s.tasks
            s.tasks = []
            return (c, t)
        }
        continuation?.resume(returning: o)
        for t in tasks { t.cancel() }
    }
}
