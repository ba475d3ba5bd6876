import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A spawned child with pipes on stdin/stdout/stderr, in its own process group, reaped by a
/// dedicated thread.
///
/// Why not Foundation `Process`: on Linux it spawns with only `POSIX_SPAWN_SETPGROUP`, and children
/// started from Swift-concurrency or Foundation threads were observed with SIGTERM (and most other
/// signals) blocked, so the SIGTERM step of the shutdown escalation could never work. Here the child
/// gets an empty signal mask and default dispositions, inherits no stray descriptors, and is still
/// started from an argv (never a shell).
final class ChildProcess: Sendable {
    let pid: Int32
    /// Parent ends: write to `stdinFD`, read `stdoutFD` and `stderrFD`. Owned by the caller.
    let stdinFD: Int32
    let stdoutFD: Int32
    let stderrFD: Int32

    private init(pid: Int32, stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32) {
        self.pid = pid
        self.stdinFD = stdinFD
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
    }

    /// Spawns `executable` with `argv`; `onExit` runs on the reaper thread once the child is reaped.
    static func spawn(executable: String, argv: [String], environment: [String: String],
                      workingDirectory: String?, onExit: @escaping @Sendable (ExecExit.Status) -> Void) throws -> ChildProcess {
        var fds: [[Int32]] = []
        defer { for pair in fds { for fd in pair where fd >= 0 { close(fd) } } }
        for _ in 0..<3 {
            var pair: [Int32] = [-1, -1]
            guard GNUExtensions.pipe2(&pair, O_CLOEXEC) == 0 else { throw ExecError.launchFailed("pipe: errno \(errno)") }
            fds.append(pair)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0][0], 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1][1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[2][1], 2)
        guard GNUExtensions.addClosefrom(&actions, 3) == 0 else { throw ExecError.launchFailed("posix_spawn_file_actions_addclosefrom_np failed") }
        if let workingDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: workingDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ExecError.launchFailed("working directory \(workingDirectory) does not exist")
            }
            guard GNUExtensions.addChdir(&actions, workingDirectory) == 0 else { throw ExecError.launchFailed("cannot set working directory \(workingDirectory)") }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        sigdelset(&allSignals, SIGKILL)
        sigdelset(&allSignals, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var spawned: pid_t = 0
        let rc = posix_spawn(&spawned, executable, &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else {
            throw ExecError.launchFailed("\(executable): \(String(cString: strerror(rc)))")
        }
        let pid = spawned
        let child = ChildProcess(pid: pid, stdinFD: fds[0][1], stdoutFD: fds[1][0], stderrFD: fds[2][0])
        // The parent keeps only its ends; the deferred close handles the child's ends.
        fds[0][1] = -1
        fds[1][0] = -1
        fds[2][0] = -1
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 {
                if errno != EINTR {
                    onExit(.exited(-1))
                    return
                }
            }
            // WIFEXITED / WTERMSIG are macros and do not import.
            let signal = status & 0x7f
            onExit(signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal))
        }
        return child
    }
}

/// glibc functions behind _GNU_SOURCE, which the Glibc module does not expose; looked up once.
private enum GNUExtensions {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32

    static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        guard let f: Pipe2 = symbol("pipe2") else { return -1 }
        return f(fds, flags)
    }

    static func addClosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32 {
        guard let f: AddClosefrom = symbol("posix_spawn_file_actions_addclosefrom_np") else { return -1 }
        return f(actions, from)
    }

    static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Int32 {
        guard let f: AddChdir = symbol("posix_spawn_file_actions_addchdir_np") else { return -1 }
        return path.withCString { f(actions, $0) }
    }

    private static func symbol<T>(_ name: String) -> T? {
        guard let raw = dlsym(nil, name) else { return nil }
        return unsafeBitCast(raw, to: T.self)
    }
}
