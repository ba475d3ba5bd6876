import CMicroHTTPD
import Dispatch
import Foundation
import Synchronization

/// What the MHD callbacks reach through their `cls` pointer: options, the handler, and the
/// in-flight requests and streams that `stop()` must wake.
final class ServerCore: Sendable {
    let options: HTTPServerOptions
    let handler: HTTPServer.Handler
    private let state = Mutex<State>(State())

    private struct State {
        var stopping = false
        var waiting: [ObjectIdentifier: ResponseBox] = [:]
        var pumps: [ObjectIdentifier: StreamPump] = [:]
        var activeRequests = 0
    }

    /// A request began (first access-handler call) or ended (completion notification).
    func requestStarted() { state.withLock { $0.activeRequests += 1 } }
    func requestEnded() { state.withLock { $0.activeRequests -= 1 } }
    var activeRequests: Int { state.withLock { $0.activeRequests } }

    init(options: HTTPServerOptions, handler: @escaping HTTPServer.Handler) {
        self.options = options
        self.handler = handler
    }

    func reset() { state.withLock { $0.stopping = false } }

    func beginStop() {
        let (boxes, pumps) = state.withLock { s in
            s.stopping = true
            return (Array(s.waiting.values), Array(s.pumps.values))
        }
        let unavailable = HTTPError(status: 503, code: "unavailable", message: "the server is stopping").response
        for box in boxes { box.complete(unavailable, cancelTask: true) }
        for pump in pumps { pump.cancel() }
    }

    /// Runs the handler on a Task and blocks this MHD connection thread until it answers.
    func respond(to request: HTTPRequest) -> HTTPResponse {
        let box = ResponseBox()
        let admitted = state.withLock { s -> Bool in
            if s.stopping { return false }
            s.waiting[ObjectIdentifier(box)] = box
            return true
        }
        guard admitted else { return HTTPError(status: 503, code: "unavailable", message: "the server is stopping").response }
        let handler = self.handler
        let task = Task {
            let response = await handler(request)
            box.complete(response, cancelTask: false)
        }
        box.setTask(task)
        let response = box.wait()
        _ = state.withLock { $0.waiting.removeValue(forKey: ObjectIdentifier(box)) }
        return response
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

/// One response handed from a handler Task to the blocked connection thread.
final class ResponseBox: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private let state = Mutex<(response: HTTPResponse?, task: Task<Void, Never>?)>((nil, nil))

    func setTask(_ task: Task<Void, Never>) {
        let alreadyDone = state.withLock { s -> Bool in
            if s.response != nil { return true }
            s.task = task
            return false
        }
        if alreadyDone { task.cancel() }
    }

    /// First completion wins; `cancelTask` cancels a handler that is being abandoned.
    func complete(_ response: HTTPResponse, cancelTask: Bool) {
        let (won, task) = state.withLock { s -> (Bool, Task<Void, Never>?) in
            if s.response != nil { return (false, nil) }
            s.response = response
            let t = s.task
            s.task = nil
            return (true, t)
        }
        guard won else { return }
        if cancelTask { task?.cancel() }
        semaphore.signal()
    }

    func wait() -> HTTPResponse {
        semaphore.wait()
        return state.withLock { $0.response } ?? HTTPError.internalError().response
    }
}

/// Per-request state kept in MHD's `con_cls` across the repeated access-handler calls.
final class RequestContext {
    var body = Data()
    var tooLarge = false
}
