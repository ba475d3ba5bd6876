import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One child process, started from an argv with `posix_spawn` (never through a shell), always reaped.
///
/// Why not Foundation `Process`: on Linux it leaves the child the spawning thread's signal mask, and
/// threads of Swift concurrency and Dispatch block SIGTERM, so a child started from them could never
/// be stopped politely. See `Spawn` for what the child gets.
///
/// A dedicated thread waits for the child and reaps it the moment it exits, so no zombie is left
/// whether or not anyone asks how it ended. It waits with `WNOWAIT` first and reaps under the same
/// lock that `signal(_:)` takes, so a signal never reaches a recycled pid. Releasing a child that
/// still runs kills it (SIGKILL, to its group when it has one); the reaper thread then reaps it.
///
/// Pipes asked for belong to this object: `stdoutFD` and `stderrFD` stay open while it is alive
/// (hold it while reading them), and every parent end is closed when it is released.
public final class ChildProcess: Sendable {
    /// The command line; `argv[0]` is what the program sees as its name.
    public let argv: [String]
    /// The process id (also its process-group id when started with `newProcessGroup`).
    public let pid: pid_t
    /// Whether the child leads its own process group, which `signal(_:)` then targets.
    public let newProcessGroup: Bool
    /// The file its stdout goes to, when it goes to one.
    public let stdoutFile: URL?
    /// The file its stderr goes to, when it goes to one.
    public let stderrFile: URL?
    /// The read end of the stdout pipe (with `.pipe`); valid while this object lives.
    public let stdoutFD: Int32?
    /// The read end of the stderr pipe (with `.pipe`); valid while this object lives.
    public let stderrFD: Int32?

    private let core: Core
    /// The write end of the stdin pipe, -1 once closed. Writes hold the lock so a close never
    /// lands in the middle of one (and never closes a descriptor number reused meanwhile).
    private let stdinFD: Mutex<Int32>

    /// Starts `argv` and returns once the program runs (or fails to start).
    /// - Parameters:
    ///   - executable: the program's path; nil uses `argv[0]` as a path (no PATH search).
    ///   - environment: the complete environment; nil passes the current one.
    ///   - workingDirectory: where it starts; nil = ours. Must exist.
    ///   - newProcessGroup: put it in a process group of its own, so that `signal(_:)` also reaches
    ///     the programs it starts, and a terminal's Ctrl-C aimed at us does not reach it.
    ///   - onExit: called once on the reaper thread after the child is reaped; must not block long.
    public init(executable: String? = nil, argv: [String], environment: [String: String]? = nil,
                workingDirectory: String? = nil, stdin: Input = .null, stdout: Output = .null,
                stderr: Output = .null, newProcessGroup: Bool = false,
                onExit: (@Sendable (Termination) -> Void)? = nil) throws(ChildProcessError) {
        guard let program = executable ?? argv.first, !program.isEmpty else { throw .emptyArgv }
        let launched = try Spawn.launch(executable: program, argv: argv,
                                        environment: environment ?? ProcessInfo.processInfo.environment,
                                        workingDirectory: workingDirectory, stdin: stdin, stdout: stdout,
                                        stderr: stderr, newProcessGroup: newProcessGroup)
        self.argv = argv
        pid = launched.pid
        self.newProcessGroup = newProcessGroup
        if case .file(let url) = stdout { stdoutFile = url } else { stdoutFile = nil }
        if case .file(let url) = stderr { stderrFile = url } else { stderrFile = nil }
        stdoutFD = launched.stdoutFD >= 0 ? launched.stdoutFD : nil
        stderrFD = launched.stderrFD >= 0 ? launched.stderrFD : nil
        stdinFD = Mutex(launched.stdinFD)
        core = Core(pid: launched.pid, target: newProcessGroup ? -launched.pid : launched.pid)
        core.startReaper(onExit: onExit)
    }

    // MARK: - Signals

    /// Sends `signal` to the child, or to its whole process group when it has one. Does nothing once
    /// the child has been reaped, so the pid is never a recycled one. Returns whether it was sent.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool { core.signal(signal) }

    /// SIGKILL (to the group when there is one), then waits until the child is reaped.
    /// Nil only if it outlived `deadline` (a process stuck in the kernel).
    @discardableResult
    public func kill9(deadline: Duration = .seconds(60)) -> Termination? {
        signal(SIGKILL)
        return wait(deadline: deadline)
    }

    /// SIGTERM, up to `grace` for the child to exit, then SIGKILL; returns once it is reaped.
    @discardableResult
    public func stop(grace: Duration = .seconds(5)) -> Termination? {
        signal(SIGTERM)
        if let done = wait(deadline: grace) { return done }
        return kill9()
    }

    // MARK: - Exit

    /// How the child ended, once it has been reaped; nil while it runs.
    public var termination: Termination? { core.termination }

    /// Whether the child has not been reaped yet.
    public var isRunning: Bool { core.termination == nil }

    /// Blocks until the child has been reaped or `deadline` has passed; returns how it ended, or nil.
    @discardableResult
    public func wait(deadline: Duration) -> Termination? {
        let (seconds, attoseconds) = deadline.components
        let nanos = max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        _ = core.reaped.wait(timeout: .now() + .nanoseconds(Int(clamping: nanos)))
        return core.termination
    }

    /// Suspends until the child has been reaped or `deadline` has passed; returns how it ended, or nil.
    public func waitForExit(deadline: Duration) async -> Termination? {
        let end = ContinuousClock.now + deadline
        while true {
            if let done = core.termination { return done }
            if ContinuousClock.now >= end { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    // MARK: - stdin

    /// Writes all of `bytes` to the stdin pipe (blocking while it is full). False when stdin is
    /// closed, was not a pipe, or the child stopped reading it (EPIPE; SIGPIPE must be ignored).
    @discardableResult
    public func writeStdin(_ bytes: Data) -> Bool {
        stdinFD.withLock { fd in
            guard fd >= 0 else { return false }
            return bytes.withUnsafeBytes { raw -> Bool in
                guard let base = raw.baseAddress else { return true }
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, base + offset, raw.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return false }
                    offset += n
                }
                return true
            }
        }
    }

    /// Closes the stdin pipe, so the child reads end-of-file. Idempotent.
    public func closeStdin() {
        stdinFD.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    deinit {
        _ = core.signal(SIGKILL)
        closeStdin()
        if let stdoutFD { close(stdoutFD) }
        if let stderrFD { close(stderrFD) }
    }
}

/// What the reaper thread shares with the `ChildProcess`; outlives it until the child is reaped.
private final class Core: Sendable {
    let pid: pid_t
    /// `pid`, or `-pid` to reach the whole process group.
    let target: pid_t
    /// Entered at start, left once the child is reaped; `wait(deadline:)` waits on it.
    let reaped = DispatchGroup()
    private let state = Mutex<ChildProcess.Termination?>(nil)

    init(pid: pid_t, target: pid_t) {
        self.pid = pid
        self.target = target
        reaped.enter()
    }

    var termination: ChildProcess.Termination? { state.withLock { $0 } }

    func signal(_ signal: Int32) -> Bool {
        state.withLock { done in done == nil && kill(target, signal) == 0 }
    }

    func startReaper(onExit: (@Sendable (ChildProcess.Termination) -> Void)?) {
        Thread.detachNewThread { [self] in
            // Wait without reaping: until we reap below, under the lock, the pid stays ours.
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
            let ended = state.withLock { done -> ChildProcess.Termination in
                var status: Int32 = 0
                var r: pid_t
                repeat { r = waitpid(pid, &status, 0) } while r < 0 && errno == EINTR
                // ECHILD: someone else reaped it (SIGCHLD ignored process-wide); the status is lost.
                let t = r == pid ? ChildProcess.Termination(waitStatus: status) : .exited(-1)
                done = t
                return t
            }
            reaped.leave()
            onExit?(ended)
        }
    }
}
