import Foundation

/// How an `HTTPServer` listens and what it accepts.
public struct HTTPServerOptions: Sendable {
    /// Largest accepted request body; larger bodies get a 413 JSON error (the excess is read and dropped).
    public var maxBodyBytes: Int = 1 << 20
    /// Concurrent connections (idle keep-alive ones included); beyond it new ones are refused.
    public var connectionLimit: Int = 256
    /// MHD polling threads that share the connections; 0 means one per core (at most 4). They never
    /// block: handlers run on Swift Tasks.
    public var pollingThreads: Int = 0
    /// Idle keep-alive connections are closed after this many seconds (0 = never).
    public var idleTimeoutSeconds: Int = 60
    /// When set, every request except `openPaths` needs `Authorization: Bearer <token>`.
    public var bearerToken: String?
    /// Paths served without a token (health probes).
    public var openPaths: Set<String> = ["/healthz", "/readyz"]
    /// Listening on a non-loopback address must be asked for explicitly.
    public var allowRemote: Bool = false
    /// How long a stream may be silent before its heartbeat is written; a write to a vanished
    /// client fails, which is how the server notices the disconnect.
    public var streamHeartbeat: Duration = .seconds(15)

    /// On stop, how long in-flight responses (503s, ending streams) get to reach their clients
    /// before the remaining connections are closed.
    public var stopGrace: Duration = .seconds(2)

    /// Default options: 1 MiB bodies, 256 connections, loopback only, no token.
    public init() {}

    /// `pollingThreads`, with 0 resolved to the number of active cores (1...4).
    var resolvedPollingThreads: Int {
        if pollingThreads > 0 { return min(pollingThreads, 64) }
        return min(max(1, ProcessInfo.processInfo.activeProcessorCount), 4)
    }
}

/// Why the server could not start.
public enum HTTPServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The host is not a numeric IPv4/IPv6 address or "localhost".
    case invalidHost(String)
    /// A non-loopback host without `allowRemote`.
    case remoteNotAllowed(String)
    /// socket/bind/listen failed.
    case bindFailed(host: String, port: UInt16, errno: Int32)
    /// libmicrohttpd refused to start.
    case daemonFailed
    /// `start` was called twice.
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidHost(let h): return "invalid listen host '\(h)': use a numeric IPv4/IPv6 address or localhost"
        case .remoteNotAllowed(let h): return "refusing to listen on non-loopback host '\(h)' without allowRemote"
        case .bindFailed(let h, let p, let e): return "cannot listen on \(h):\(p): errno \(e)"
        case .daemonFailed: return "libmicrohttpd failed to start"
        case .alreadyStarted: return "the server is already started"
        }
    }
}
