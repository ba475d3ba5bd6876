import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one place that calls `posix_spawn`.
///
/// What the child gets, whoever starts it: an empty signal mask and every signal at its default
/// action (threads of Swift concurrency and Dispatch block most signals, and a child inherits that
/// mask, so it would ignore SIGTERM); descriptors 0, 1 and 2 as asked and nothing else open
/// (`closefrom(3)` in the child, on top of O_CLOEXEC on our pipes, so a descriptor opened elsewhere
/// in the process without O_CLOEXEC does not leak in); optionally its own process group.
enum Spawn {
    /// The parent's ends of the pipes that were asked for (-1 otherwise).
    struct Launched {
        var pid: pid_t
        var stdinFD: Int32 = -1
        var stdoutFD: Int32 = -1
        var stderrFD: Int32 = -1
    }

    static func launch(executable: String, argv: [String], environment: [String: String],
                       workingDirectory: String?, stdin: ChildProcess.Input, stdout: ChildProcess.Output,
                       stderr: ChildProcess.Output, newProcessGroup: Bool) throws(ChildProcessError) -> Launched {
        if let workingDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: workingDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw .workingDirectoryMissing(workingDirectory)
            }
        }
        // Each pipe as [read, write]; whatever is still >= 0 at the end is closed.
        var pipes: [[Int32]] = [[-1, -1], [-1, -1], [-1, -1]]
        defer { for pair in pipes { for fd in pair where fd >= 0 { close(fd) } } }
        let wanted = [stdin == .pipe, stdout == .pipe, stderr == .pipe]
        for i in 0..<3 where wanted[i] {
            var pair: [Int32] = [-1, -1]
            guard GNUExtensions.pipe2(&pair, O_CLOEXEC) == 0 else { throw .system("pipe2", errno) }
            pipes[i] = pair
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var rc: Int32 = 0
        switch stdin {
        case .null: rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .pipe: rc = posix_spawn_file_actions_adddup2(&actions, pipes[0][0], 0)
        case .inherit: break
        }
        guard rc == 0 else { throw .system("posix_spawn_file_actions (stdin)", rc) }
        for (fd, output) in [(Int32(1), stdout), (Int32(2), stderr)] {
            switch output {
            case .null: rc = posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .pipe: rc = posix_spawn_file_actions_adddup2(&actions, pipes[Int(fd)][1], fd)
            case .inherit: rc = 0
            case .file(let url): rc = posix_spawn_file_actions_addopen(&actions, fd, url.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            }
            guard rc == 0 else { throw .system("posix_spawn_file_actions (fd \(fd))", rc) }
        }
        rc = GNUExtensions.addClosefrom(&actions, 3)
        guard rc == 0 else { throw .system("posix_spawn_file_actions_addclosefrom_np", rc) }
        if let workingDirectory {
            rc = GNUExtensions.addChdir(&actions, workingDirectory)
            guard rc == 0 else { throw .system("posix_spawn_file_actions_addchdir_np \(workingDirectory)", rc) }
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
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var pid: pid_t = 0
        rc = posix_spawn(&pid, executable, &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else { throw .spawnFailed(executable: executable, errno: rc) }

        // The parent keeps only its ends; the deferred close takes the child's.
        var launched = Launched(pid: pid)
        if wanted[0] { swap(&launched.stdinFD, &pipes[0][1]) }
        if wanted[1] { swap(&launched.stdoutFD, &pipes[1][0]) }
        if wanted[2] { swap(&launched.stderrFD, &pipes[2][0]) }
        return launched
    }
}
