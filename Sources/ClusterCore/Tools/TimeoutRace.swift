import Synchronization

/// Runs a handler against a deadline without waiting for a handler that ignores cancellation: the
/// first of (result, deadline, caller cancelled) resumes the caller, and the others are cancelled.
final class TimeoutRace: Sendable {
    private struct State {
        var continuation: CheckedContinuation<JSONValue, any Error>?
        var done = false
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Thrown when the deadline wins; private so that no handler error can be mistaken for it.
    struct Expired: Error {}

    static func run(timeout: Duration,
                    _ body: @escaping @Sendable () async throws -> JSONValue) async throws -> JSONValue {
        let race = TimeoutRace()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<JSONValue, any Error>) in
                race.install(c)
                race.add(Task {
                    do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
                })
                race.add(Task {
                    do {
                        try await Task.sleep(for: timeout)
                        race.finish(.failure(Expired()))
                    } catch {
                        // Cancelled: the handler finished first.
                    }
                })
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    private func install(_ c: CheckedContinuation<JSONValue, any Error>) {
        let resumeNow = state.withLock { s -> Bool in
            if s.done { return true }
            s.continuation = c
            return false
        }
        if resumeNow { c.resume(throwing: CancellationError()) }
    }

    private func add(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { s -> Bool in
            if s.done { return true }
            s.tasks.append(task)
            return false
        }
        if cancelNow { task.cancel() }
    }

    private func finish(_ result: Result<JSONValue, any Error>) {
        let taken = state.withLock { s -> (CheckedContinuation<JSONValue, any Error>?, [Task<Void, Never>])? in
            if s.done { return nil }
            s.done = true
            let c = s.continuation
            let t = s.tasks
            s.continuation = nil
            s.tasks = []
            return (c, t)
        }
        guard let (continuation, tasks) = taken else { return }
        continuation?.resume(with: result)
        for t in tasks { t.cancel() }
    }
}
