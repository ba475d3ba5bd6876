import Foundation
import Synchronization

/// Where a command writes: standard output for results, standard error for errors. Tests pass a
/// `CapturedOutput` to run commands in-process.
public protocol CLIOutput: Sendable {
    /// Writes `text` to standard output as is.
    func write(_ text: String)
    /// Writes `text` to standard error as is.
    func writeError(_ text: String)
}

/// The process's real stdout and stderr, unbuffered so `logs --follow` shows each line at once.
public struct StandardOutput: CLIOutput {
    /// The process's stdout and stderr.
    public init() {}
    public func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
    public func writeError(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}

/// Collects what a command wrote, for tests.
public final class CapturedOutput: CLIOutput {
    private let state = Mutex<(out: String, err: String)>(("", ""))

    /// Empty buffers.
    public init() {}
    public func write(_ text: String) { state.withLock { $0.out += text } }
    public func writeError(_ text: String) { state.withLock { $0.err += text } }
    /// Everything written to standard output so far.
    public var stdout: String { state.withLock { $0.out } }
    /// Everything written to standard error so far.
    public var stderr: String { state.withLock { $0.err } }
}
