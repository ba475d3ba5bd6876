/// A command that could not do its job, with the exit code it means (see docs/cli.md).
public struct CommandError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Printed after "error: ".
    public var message: String
    /// 1 for operation failures, 2 for usage errors.
    public var exitCode: Int32

    /// An error; `exitCode` defaults to 1 (an operation failure).
    public init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }
}

/// The CLI's exit codes.
public enum ExitCode {
    /// The command did what it was asked.
    public static let success: Int32 = 0
    /// The API answered with an error, the node could not be reached, or the operation failed.
    public static let failure: Int32 = 1
    /// The command line was wrong.
    public static let usage: Int32 = 2
}
