import CMicroHTTPD
import Dispatch
import Foundation
import Synchronization

/// An HTTP/1.1 server over libmicrohttpd.
///
/// Threading: a few MHD polling threads (`HTTPServerOptions.pollingThreads`, epoll) serve every
/// connection, and nothing ever blocks them. A complete request first goes to the optional
/// `immediate` handler, which may answer on the polling thread itself; otherwise its connection is
/// suspended, the handler runs on a Swift `Task`, and the Task resumes the connection with the
/// response. A stream (SSE) suspends its connection whenever it has nothing to send and is resumed
/// by the next chunk, heartbeat or cancellation. `stop()` answers or ends every suspended
/// connection before stopping the daemon.
public final class HTTPServer: Sendable {
    /// The handler every request goes to (usually `Router.handle`).
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse
    /// Answers a request on the polling thread, or returns nil to send it to `Handler`. It must not
    /// block or wait: it runs on a thread that serves many connections.
    public typealias ImmediateHandler = @Sendable (HTTPRequest) -> HTTPResponse?

    private let core: ServerCore
    private let state = Mutex<State>(State())

    private struct State {
        var daemon: SendableDaemon?
        var port: UInt16 = 0
        var host = ""
        var retainedCore: Unmanaged<ServerCore>?
    }

    /// Creates a stopped server. `immediate` answers cheap synchronous requests without a Task hop
    /// (nil: not one of them); everything else goes to `handler`. `Router.handleImmediately` also
    /// answers 404/405 there, so it suits a server whose handler is the router alone — the node
    /// passes its own probe handler, keeping its phase check and status counts.
    public init(options: HTTPServerOptions = HTTPServerOptions(), immediate: ImmediateHandler? = nil,
                handler: @escaping Handler) {
        self.core = ServerCore(options: options, immediate: immediate, handler: handler)
    }

    /// The bound port (useful after starting on port 0); 0 when stopped.
    public var port: UInt16 { state.withLock { $0.port } }

    /// Whether the server is accepting connections.
    public var isRunning: Bool { state.withLock { $0.daemon != nil } }

    /// Starts listening. `port` 0 picks a free port (see `port`). Non-loopback hosts need `allowRemote`.
    @discardableResult
    public func start(host: String = "127.0.0.1", port: UInt16) throws(HTTPServerError) -> UInt16 {
        let options = core.options
        if !ListenSocket.isValidHost(host) { throw .invalidHost(host) }
        if !ListenSocket.isLoopback(host) && !options.allowRemote { throw .remoteNotAllowed(host) }
        if isRunning { throw .alreadyStarted }
        let (fd, bound) = try ListenSocket.open(host: host, port: port, backlog: 128)
        let isV6 = host.contains(":")
        // ALLOW_SUSPEND_RESUME includes ITC, which lets a resume from a Task wake the polling thread.
        var flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue
            | MHD_ALLOW_SUSPEND_RESUME.rawValue
        if isV6 { flags |= MHD_USE_IPv6.rawValue }
        core.reset()
        let retained = Unmanaged.passRetained(core)
        let completed: MHD_RequestCompletedCallback = mhdRequestCompleted
        var args: [CVarArg] = [
            CInt(MHD_OPTION.LISTEN_SOCKET.rawValue), CInt(fd),
            CInt(MHD_OPTION.CONNECTION_LIMIT.rawValue), CUnsignedInt(max(1, options.connectionLimit)),
            CInt(MHD_OPTION.CONNECTION_TIMEOUT.rawValue), CUnsignedInt(max(0, options.idleTimeoutSeconds)),
            CInt(MHD_OPTION.NOTIFY_COMPLETED.rawValue), unsafeBitCast(completed, to: Int.self),
            Int(bitPattern: retained.toOpaque()),
        ]
        let threads = options.resolvedPollingThreads
        if threads > 1 {
            args += [CInt(MHD_OPTION.THREAD_POOL_SIZE.rawValue), CUnsignedInt(threads)]
        }
        args.append(CInt(MHD_OPTION.END.rawValue))
        let daemon = withVaList(args) { va in
            MHD_start_daemon_va(flags, 0, nil, nil, mhdAccess, retained.toOpaque(), va)
        }
        guard let daemon else {
            retained.release()
            close(fd)
            throw .daemonFailed
        }
        let handle = SendableDaemon(pointer: daemon)
        state.withLock {
            $0.daemon = handle
            $0.port = bound
            $0.host = host
            $0.retainedCore = retained
        }
        return bound
    }

    /// Stops: stops accepting, answers in-flight requests with 503 (cancelling their handlers), ends
    /// open streams, lets those responses go out (up to `options.stopGrace`), closes every
    /// connection and returns once all MHD callbacks have finished. Idempotent.
    public func stop() async {
        guard let (daemon, retained) = takeDaemon() else { return }
        let listenFD = MHD_quiesce_daemon(daemon.pointer)
        if listenFD >= 0 { close(listenFD) }
        core.beginStop()
        let grace = core.options.stopGrace
        let core = self.core
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            // MHD_stop_daemon joins the polling threads; keep that off Swift's cooperative pool.
            Thread.detachNewThread {
                let deadline = ContinuousClock.now + grace
                while core.activeRequests > 0 && ContinuousClock.now < deadline { usleep(5_000) }
                MHD_stop_daemon(daemon.pointer)
                done.resume()
            }
        }
        retained.release()
    }

    private func takeDaemon() -> (SendableDaemon, Unmanaged<ServerCore>)? {
        state.withLock { s -> (SendableDaemon, Unmanaged<ServerCore>)? in
            guard let d = s.daemon, let r = s.retainedCore else { return nil }
            s.daemon = nil
            s.retainedCore = nil
            s.port = 0
            return (d, r)
        }
    }

    deinit {
        // A server dropped without stop(): stop synchronously so no thread outlives it.
        if let (daemon, retained) = takeDaemon() {
            core.beginStop()
            MHD_stop_daemon(daemon.pointer)
            retained.release()
        }
    }
}

/// An MHD daemon handle moved to the stopping thread; MHD_stop_daemon may be called from any thread.
private struct SendableDaemon: @unchecked Sendable {
    let pointer: OpaquePointer
}
