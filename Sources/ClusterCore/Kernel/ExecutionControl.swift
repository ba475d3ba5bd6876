import Synchronization

/// One running execution: its single-shot result, the task running the handler, and its usage.
///
/// The caller of `Kernel.execute` waits on the continuation, not on the handler's task, so a timeout,
/// a terminate or an exceeded budget answers the caller at once even if the handler ignores
/// cancellation.
final class ExecutionControl: Sendable {
    let id: UInt64
    private struct State {
        var continuation: CheckedContinuation<AgentOutput, any Error>?
        var finished: Result<AgentOutput, any Error>?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
        var tokens = 0
        var cost = 0.0
    }
    private let state = Mutex(State())

    init(id: UInt64) { self.id = id }

    /// Installs the waiting caller; if the result came first, resumes at once.
    func wait(_ c: CheckedContinuation<AgentOutput, any Error>) {
        let done = state.withLock { s -> Result<AgentOutput, any Error>? in
            if let r = s.finished { return r }
            s.continuation = c
            return nil
        }
        if let done { c.resume(with: done) }
    }

    func attach(work: Task<Void, Never>, timer: Task<Void, Never>?) {
        let cancelNow = state.withLock { s -> Bool in
            s.work = work
            s.timer = timer
            return s.finished != nil
        }
        if cancelNow { work.cancel(); timer?.cancel() }
    }

    /// Delivers the result once; later calls are ignored. Returns whether this call delivered it.
    @discardableResult
    func finish(_ result: Result<AgentOutput, any Error>) -> Bool {
        let (first, c, timer) = state.withLock { s -> (Bool, CheckedContinuation<AgentOutput, any Error>?, Task<Void, Never>?) in
            guard s.finished == nil else { return (false, nil, nil) }
            s.finished = result
            let c = s.continuation
            s.continuation = nil
            return (true, c, s.timer)
        }
        timer?.cancel()
        c?.resume(with: result)
        return first
    }

    /// Fails the execution with `error` and cancels the handler's task.
    func cancel(with error: any Error) {
        finish(.failure(error))
        let work = state.withLock { $0.work }
        work?.cancel()
    }

    var isFinished: Bool { state.withLock { $0.finished != nil } }

    func addUsage(tokens: Int, cost: Double) {
        state.withLock { $0.tokens += tokens; $0.cost += cost }
    }

    var usage: (tokens: Int, cost: Double) { state.withLock { ($0.tokens, $0.cost) } }
}
