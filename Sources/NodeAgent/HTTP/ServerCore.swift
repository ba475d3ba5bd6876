import CMicroHTTPD
import Foundation
import Synchronization

/// What the MHD callbacks reach through their `cls` pointer: options, the handlers, and the
/// suspended requests and open streams that `stop()` must answer and end.
final class ServerCore: Sendable {
    let options: HTTPServerOptions
    let handler: HTTPServer.Handler
    let immediate: HTTPServer.ImmediateHandler?
    private let state = Mutex<State>(State())
    /// An atomic, not a field of `state`: every request counts twice, and under load a shared
    /// lock here was the hottest spot of the old thread-per-connection server (perf: 31% of its
    /// time in `Mutex._lockSlow`).
    private let active = Atomic<Int>(0)

    private struct State {
        var stopping = false
        var pending: [ObjectIdentifier: PendingRequest] = [:]
        var pumps: [ObjectIdentifier: StreamPump] = [:]
    }

    /// A request began (first access-handler call) or ended (completion notification).
    func requestStarted() { active.wrappingAdd(1, ordering: .relaxed) }
    func requestEnded() { active.wrappingSubtract(1, ordering: .relaxed) }
    var activeRequests: Int { active.load(ordering: .relaxed) }

    init(options: HTTPServerOptions, immediate: HTTPServer.ImmediateHandler?, handler: @escaping HTTPServer.Handler) {
        self.options = options
        self.immediate = immediate
        self.handler = handler
    }

    func reset() { state.withLock { $0.stopping = false } }

    static var stoppingResponse: HTTPResponse {
        HTTPError(status: 503, code: "unavailable", message: "the server is stopping").response
    }

    /// Answers every suspended request with 503 (which resumes its connection and cancels its
    /// handler) and ends every open stream (which resumes a stream waiting for data). When this
    /// returns, no connection is left suspended and none will be suspended again.
    func beginStop() {
        let (pending, pumps) = state.withLock { s in
            s.stopping = true
            let taken = (Array(s.pending.values), Array(s.pumps.values))
            s.pending.removeAll()
            return taken
        }
        let unavailable = Self.stoppingResponse
        for request in pending { request.complete(unavailable, cancelTask: true) }
        for pump in pumps { pump.cancel() }
    }

    /// Runs the handler on a Task for a request whose connection the caller has just suspended.
    /// The Task resumes the connection when the response is ready; nothing blocks meanwhile.
    func dispatch(_ request: HTTPRequest, connection: SuspendedConnection) -> PendingRequest {
        let pending = PendingRequest(connection: connection)
        let key = ObjectIdentifier(pending)
        let admitted = state.withLock { s -> Bool in
            if s.stopping { return false }
            s.pending[key] = pending
            return true
        }
        guard admitted else {
            pending.complete(Self.stoppingResponse, cancelTask: false)
            return pending
        }
        let handler = self.handler
        // A detached Task: the polling thread is not part of Swift's pool, so there is nothing to
        // inherit, and the handler starts on a free pool thread rather than behind this one.
        let task = Task.detached { [self] in
            let response = await handler(request)
            if pending.complete(response, cancelTask: false) { forget(key) }
        }
        pending.setTask(task)
        return pending
    }

    private func forget(_ key: ObjectIdentifier) {
        _ = state.withLock { $0.pending.removeValue(forKey: key) }
    }

    /// Registers a stream; returns false when stopping (the caller then ends it at once).
    func register(_ pump: StreamPump) -> Bool {
        state.withLock { s in
            if s.stopping { return false }
            s.pumps[ObjectIdentifier(pump)] = pump
            return true
        }
    }

    func unregister(_ pump: StreamPump) {
        _ = state.withLock { $0.pumps.removeValue(forKey: ObjectIdentifier(pump)) }
    }

    /// Bearer-token check; constant time in the token's length.
    func authorized(_ request: HTTPRequest) -> Bool {
        guard let token = options.bearerToken, !token.isEmpty else { return true }
        if options.openPaths.contains(request.path) { return true }
        guard let header = request.header("authorization"), header.lowercased().hasPrefix("bearer ") else { return false }
        let given = Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)
        let expected = Array(token.utf8)
        guard given.count == expected.count else { return false }
        var diff: UInt8 = 0
        for (a, b) in zip(given, expected) { diff |= a ^ b }
        return diff == 0
    }
}

/// Per-request state kept in MHD's `con_cls` across the repeated access-handler calls; only the
/// connection's polling thread touches it.
final class RequestContext {
    var body = Data()
    var tooLarge = false
    /// Set while the handler runs; MHD calls the access handler again after the resume.
    var pending: PendingRequest?
}
