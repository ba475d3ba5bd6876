import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A real child process started by a test: argv launched with posix_spawn, stdout and stderr
/// captured to files, signalled by PID, waited for with a deadline, and always reaped (SIGKILL
/// and wait when released while still running) so no test leaves a process behind.
public final class ChildProcess: Sendable {
    /// The command line, `argv[0]` being the executable's path.
    public let argv: [String]
    /// The process id.
    public let pid: pid_t
    /// Where stdout is written.
    public let stdoutURL: URL
    /// Where stderr is written.
    public let stderrURL: URL
    private let exitStatus = Mutex<Int32?>(nil)

    /// Launches `argv` with the current environment plus `environment`; output goes to
    /// `<logDirectory>/<name>.stdout` and `.stderr`.
    public init(_ argv: [String], environment: [String: String] = [:], logDirectory: URL, name: String) throws {
        guard let exe = argv.first else { throw FixtureError.notReady("empty argv") }
        self.argv = argv
        stdoutURL = logDirectory.appendingPathComponent("\(name).stdout")
        stderrURL = logDirectory.appendingPathComponent("\(name).stderr")

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutURL.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrURL.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)

        // The spawning thread is usually a dispatch worker, which blocks most signals; a child
        // inherits that mask and would ignore SIGTERM. Start it with no signal blocked and
        // every signal at its default action.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else { throw FixtureError.system("posix_spawn \(exe)", rc) }
        pid = child
    }

    /// Sends `signal` to the process (no-op once it has been reaped).
    public func signal(_ signal: Int32) {
        exitStatus.withLock { status in
            if status == nil { _ = kill(pid, signal) }
        }
    }

    /// Whether the process is still running (reaps it if it has exited).
    public var isRunning: Bool { poll() == nil }

    /// The raw wait status once the process has exited and been reaped, else nil.
    public var status: Int32? { poll() }

    /// How the process ended, once it has been reaped.
    public enum Termination: Sendable, Equatable {
        /// It exited with this code.
        case exited(Int32)
        /// A signal ended it.
        case signaled(Int32)
    }

    /// How the process ended, or nil while it runs.
    public var termination: Termination? {
        guard let st = poll() else { return nil }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which do not import into Swift.
        if st & 0x7f == 0 { return .exited((st >> 8) & 0xff) }
        return .signaled(st & 0x7f)
    }

    /// Reaps the process if it has exited; returns its wait status.
    @discardableResult
    private func poll() -> Int32? {
        exitStatus.withLock { status in
            if let s = status { return s }
            var st: Int32 = 0
            let r = waitpid(pid, &st, WNOHANG)
            if r == pid || (r < 0 && errno == ECHILD) {
                status = st
                return st
            }
            return nil
        }
    }

    /// Waits until the process exits or `deadline` passes; returns the wait status or nil.
    @discardableResult
    public func wait(deadline: Duration) -> Int32? {
        waitUntilBlocking(deadline: deadline, poll: .milliseconds(5)) { poll() != nil }
        return poll()
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL and wait. Always leaves the process reaped.
    public func stop(grace: Duration = .seconds(5)) {
        signal(SIGTERM)
        if wait(deadline: grace) == nil { kill9() }
    }

    /// SIGKILL and reap.
    public func kill9() {
        signal(SIGKILL)
        exitStatus.withLock { status in
            guard status == nil else { return }
            var st: Int32 = 0
            while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
            status = st
        }
    }

    /// What the process wrote to stderr so far (for failure messages).
    public func stderrText() -> String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// What the process wrote to stdout so far.
    public func stdoutText() -> String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }

    deinit { kill9() }
}
