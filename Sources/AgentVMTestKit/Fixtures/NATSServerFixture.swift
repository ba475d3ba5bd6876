import ChildProcess
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real `nats-server` on 127.0.0.1 for one test: free client and monitor ports, JetStream with
/// a temp store dir, started and waited for with a deadline, stoppable and restartable on the
/// SAME port (so clients reconnect to it), and killed when released.
public final class NATSServerFixture: Sendable {
    /// Where Debian installs the server.
    public static let defaultExecutable = "/usr/sbin/nats-server"

    /// Client port.
    public let port: UInt16
    /// HTTP monitoring port (`/varz`, `/routez`, `/healthz`).
    public let monitorPort: UInt16
    /// `nats://127.0.0.1:<port>`.
    public var url: String { "nats://127.0.0.1:\(port)" }
    /// Holds the JetStream store (`jetstream/`) and the server's logs.
    public let directory: TempDirectory
    /// The full command line used for every start.
    public let argv: [String]
    private let name: String
    private let process = Mutex<ChildProcess?>(nil)
    private let starts = Atomic<Int>(0)

    /// Picks ports and builds the command line; call `start()` to run it.
    /// - Parameters:
    ///   - jetStream: enable JetStream with a store under `directory`.
    ///   - extraArguments: appended to the command line (cluster flags, auth, ...).
    public init(jetStream: Bool = true, port: UInt16? = nil, name: String = "nats",
                executable: String = NATSServerFixture.defaultExecutable,
                extraArguments: [String] = []) throws {
        let ports = try FreePort.next(2)
        self.port = port ?? ports[0]
        self.monitorPort = ports[1]
        self.name = name
        directory = try TempDirectory(prefix: name)
        var args = [executable, "-a", "127.0.0.1", "-p", String(self.port), "-m", String(monitorPort),
                    "-n", name]
        if jetStream { args += ["-js", "-sd", directory.file("jetstream").path] }
        argv = args + extraArguments
    }

    /// Convenience: creates and starts a server. If another process took one of its ports
    /// between picking and binding, tries again with fresh ports (up to 5 times).
    public static func started(jetStream: Bool = true, name: String = "nats", extraArguments: [String] = [],
                               deadline: Duration = .seconds(10)) throws -> NATSServerFixture {
        var attempt = 0
        while true {
            attempt += 1
            let f = try NATSServerFixture(jetStream: jetStream, name: name, extraArguments: extraArguments)
            do {
                try f.start(deadline: deadline)
                return f
            } catch FixtureError.exited(let why, _) where attempt < 5 && why.contains("address already in use") {
                continue
            }
        }
    }

    /// Starts the server (if not running) and waits until it accepts connections.
    public func start(deadline: Duration = .seconds(10)) throws {
        let run = starts.wrappingAdd(1, ordering: .relaxed).newValue
        let child = try process.withLock { current -> ChildProcess in
            if let c = current, c.isRunning { return c }
            let c = try ChildProcess(argv, logDirectory: directory.url, name: "\(name)-\(run)")
            current = c
            return c
        }
        let ready = waitUntilBlocking(deadline: deadline, poll: .milliseconds(10)) {
            !child.isRunning || FreePort.accepts(port)
        }
        if !child.isRunning {
            let log = child.stderrText().split(separator: "\n").suffix(5).joined(separator: "\n")
            throw FixtureError.exited("nats-server \(name) on port \(port): \(log)", child.termination?.exitCode ?? -1)
        }
        if !ready { throw FixtureError.notReady("nats-server \(name) on port \(port)") }
    }

    /// Stops the server with SIGTERM (SIGKILL after `grace`) and waits until it has exited.
    public func stop(grace: Duration = .seconds(5)) {
        let child = process.withLock { c -> ChildProcess? in
            defer { c = nil }
            return c
        }
        child?.stop(grace: grace)
    }

    /// Kills the server with SIGKILL (a crash, not a shutdown).
    public func kill() {
        let child = process.withLock { c -> ChildProcess? in
            defer { c = nil }
            return c
        }
        child?.kill9()
    }

    /// Stops and starts again on the same ports with the same store.
    public func restart(deadline: Duration = .seconds(10)) throws {
        stop()
        try start(deadline: deadline)
    }

    /// Whether the server process is running.
    public var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// The running server's pid, if any.
    public var pid: pid_t? { process.withLock { $0?.pid } }

    /// Everything the server logged to stderr (all starts of this fixture).
    public func logs() -> String {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".stderr") }.sorted()
            .compactMap { try? String(contentsOf: directory.file($0), encoding: .utf8) }
            .joined(separator: "\n")
    }

    /// GET on the monitoring port (`/varz`, `/routez`, ...): the body, or nil if unreachable.
    public func monitor(_ path: String) -> String? { httpGet(port: monitorPort, path: path) }

    deinit {
        process.withLock { _ = $0?.kill9() }
    }
}

/// A minimal HTTP/1.0 GET on loopback, enough to read a server's monitoring JSON.
func httpGet(port: UInt16, path: String, timeoutSeconds: Int = 2) -> String? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = FreePort.loopback(port: port)
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard rc == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return nil }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16_384)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response.append(contentsOf: buffer[0..<n])
    }
    guard let text = String(bytes: response, encoding: .utf8),
          let split = text.range(of: "\r\n\r\n") else { return nil }
    return String(text[split.upperBound...])
}
