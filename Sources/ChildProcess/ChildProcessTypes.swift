#if canImport(Glibc)
import Glibc
#endif
import Foundation

extension ChildProcess {
    /// Where the child's stdin comes from.
    public enum Input: Sendable, Equatable {
        /// `/dev/null`: the child reads end-of-file at once.
        case null
        /// A pipe; the parent writes with `writeStdin(_:)` and closes with `closeStdin()`.
        case pipe
        /// The parent's own stdin.
        case inherit
    }

    /// Where the child's stdout or stderr goes.
    public enum Output: Sendable, Equatable {
        /// `/dev/null`.
        case null
        /// A pipe; the parent reads `stdoutFD` / `stderrFD`.
        case pipe
        /// The parent's own stdout or stderr.
        case inherit
        /// A file, created if missing and appended to; opened in the child, so the parent holds no descriptor.
        case file(URL)
    }

    /// How a child ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        /// It exited with this code.
        case exited(Int32)
        /// This signal ended it.
        case signaled(Int32)

        /// The exit code, or minus the signal number (the shell's convention, negated).
        public var exitCode: Int32 {
            switch self {
            case .exited(let code): return code
            case .signaled(let signal): return -signal
            }
        }

        /// Decodes a `waitpid` status; WIFEXITED / WEXITSTATUS / WTERMSIG are macros and do not import.
        init(waitStatus status: Int32) {
            let signal = status & 0x7f
            self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
        }

        public var description: String {
            switch self {
            case .exited(let code): return "exited with code \(code)"
            case .signaled(let signal): return "killed by signal \(signal)"
            }
        }
    }
}

/// Why a child could not be started.
public enum ChildProcessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No program was given.
    case emptyArgv
    /// The working directory is missing or not a directory.
    case workingDirectoryMissing(String)
    /// A system call the launch needs failed with this errno.
    case system(String, Int32)
    /// `posix_spawn` refused the program (not found, not executable, ...), with its errno.
    case spawnFailed(executable: String, errno: Int32)

    public var description: String {
        switch self {
        case .emptyArgv: return "argv is empty"
        case .workingDirectoryMissing(let path): return "working directory \(path) does not exist"
        case .system(let call, let e): return "\(call): \(String(cString: strerror(e)))"
        case .spawnFailed(let executable, let e): return "\(executable): \(String(cString: strerror(e)))"
        }
    }
}
