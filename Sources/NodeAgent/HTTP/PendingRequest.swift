import CMicroHTTPD
import Synchronization

/// An MHD connection handle that crosses from the polling thread to the Task that answers it.
/// MHD allows `MHD_resume_connection` from any thread; everything else stays on the polling thread.
struct SuspendedConnection: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Only from an MHD callback (access handler or content reader) on the polling thread.
    func suspend() { MHD_suspend_connection(pointer) }
    /// From any thread, exactly once per `suspend()`, and before `MHD_stop_daemon`.
    func resume() { MHD_resume_connection(pointer) }
}

/// A request whose connection is suspended while its handler runs on a Task.
///
/// Exactly one completion wins: the handler's response, or the 503 of a stopping server. Only the
/// winner resumes the connection, and it does so while holding the lock, so a loser (or
/// `ServerCore.beginStop`) that takes the lock afterwards knows the resume has already happened:
/// the connection is resumed exactly once, and never after `stop()` has gone on to
/// `MHD_stop_daemon` (which requires that no connection is left suspended).
final class PendingRequest: Sendable {
    private let connection: SuspendedConnection
    private let state = Mutex<State>(State())

    private struct State {
        var response: HTTPResponse?
        var completed = false
        var task: Task<Void, Never>?
    }

    /// `connection` must already be suspended.
    init(connection: SuspendedConnection) {
        self.connection = connection
    }

    /// Remembers the handler's Task so a stopping server can cancel it; cancels at once when the
    /// request was already answered by `stop()`.
    func setTask(_ task: Task<Void, Never>) {
        let cancelNow = state.withLock { s -> Bool in
            if s.completed { return true }
            s.task = task
            return false
        }
        if cancelNow { task.cancel() }
    }

    /// Hands `response` to the connection and resumes it, unless another completion came first.
    /// Returns whether this call won. `cancelTask` cancels a handler that is being abandoned.
    @discardableResult
    func complete(_ response: HTTPResponse, cancelTask: Bool) -> Bool {
        let (won, task) = state.withLock { s -> (Bool, Task<Void, Never>?) in
            if s.completed { return (false, nil) }
            s.completed = true
            s.response = response
            let t = s.task
            s.task = nil
            connection.resume()
            return (true, t)
        }
        if won, cancelTask { task?.cancel() }
        return won
    }

    /// The response, once; called by the access handler when MHD calls it again after the resume.
    func takeResponse() -> HTTPResponse? {
        state.withLock { s in
            let r = s.response
            s.response = nil
            return r
        }
    }
}
