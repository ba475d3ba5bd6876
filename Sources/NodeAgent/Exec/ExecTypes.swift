import ClusterCore

/// How to run an exec agent's program.
public struct ExecConfiguration: Sendable {
    /// Program and arguments; `argv[0]` without a slash is looked up in PATH. Never run through a shell.
    public var argv: [String]
    /// Working directory; nil = the node's.
    public var workingDirectory: String?
    /// Environment; nil inherits the node's.
    public var environment: [String: String]?
    /// How long `start()` waits for the program's `ready`.
    public var readyTimeout: Duration = .seconds(10)
    /// After `shutdown`, how long before SIGTERM.
    public var shutdownGrace: Duration = .seconds(5)
    /// After SIGTERM, how long before SIGKILL.
    public var terminateGrace: Duration = .seconds(2)
    /// Longest accepted stdout line; longer lines are dropped and counted as malformed.
    public var maxLineBytes: Int = 16 << 20
    /// Most requests (memory, tool calls, publish, send) the program may have in flight; beyond it the
    /// node stops reading the program's stdout until a reply has been written (back-pressure).
    public var maxInFlightRequests: Int = ExecConfiguration.defaultMaxInFlightRequests

    /// The default cap on requests in flight: RFC 9113 (HTTP/2) §6.5.2 recommends that a peer allow
    /// no fewer than 100 concurrent streams; a program gets as much room as an HTTP/2 client would.
    public static let defaultMaxInFlightRequests = 100

    /// Creates a configuration for `argv`.
    public init(argv: [String], workingDirectory: String? = nil, environment: [String: String]? = nil) {
        self.argv = argv
        self.workingDirectory = workingDirectory
        self.environment = environment
    }
}

/// What a task produced.
public struct ExecResult: Sendable, Equatable {
    /// The program's output value.
    public var output: JSONValue
    /// Tokens used, when the program reports them.
    public var tokens: Int?
    /// Cost, when the program reports it.
    public var cost: Double?

    /// Creates a result.
    public init(output: JSONValue, tokens: Int? = nil, cost: Double? = nil) {
        self.output = output
        self.tokens = tokens
        self.cost = cost
    }
}

/// How the program ended.
public struct ExecExit: Sendable, Equatable, CustomStringConvertible {
    /// Exit code or signal.
    public enum Status: Sendable, Equatable {
        /// Exited with a code.
        case exited(Int32)
        /// Killed by a signal.
        case signaled(Int32)
    }

    /// The status.
    public var status: Status
    /// True when the node asked it to stop (terminate()); the restart policy never restarts these.
    public var requested: Bool

    /// Creates an exit record.
    public init(status: Status, requested: Bool) {
        self.status = status
        self.requested = requested
    }

    /// Exit code 0.
    public var isSuccess: Bool { status == .exited(0) }

    public var description: String {
        switch status {
        case .exited(let code): return "exited with code \(code)" + (requested ? " (requested)" : "")
        case .signaled(let sig): return "killed by signal \(sig)" + (requested ? " (requested)" : "")
        }
    }
}

/// Why an exec operation failed.
public enum ExecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The program could not be started.
    case launchFailed(String)
    /// The program did not send `ready` in time.
    case readyTimeout(Duration)
    /// The program exited; in-flight and later tasks fail with this.
    case processExited(ExecExit)
    /// The program answered the task with an `error` message.
    case taskFailed(id: String, message: String)
    /// Not started yet, or already stopping.
    case notRunning
    /// A task with this id is already in flight.
    case duplicateTaskID(String)

    public var description: String {
        switch self {
        case .launchFailed(let why): return "cannot start exec agent: \(why)"
        case .readyTimeout(let d): return "exec agent did not send ready within \(d)"
        case .processExited(let exit): return "exec agent \(exit)"
        case .taskFailed(let id, let message): return "task \(id) failed: \(message)"
        case .notRunning: return "exec agent is not running"
        case .duplicateTaskID(let id): return "task id \(id) is already in flight"
        }
    }
}

/// A line for the process log.
public struct ExecLogEntry: Sendable, Equatable {
    /// Where the line came from.
    public enum Source: String, Sendable {
        /// A `log` message from the program.
        case program
        /// A line the program wrote to stderr.
        case stderr
        /// The node about the program (malformed output, exits).
        case node
    }

    /// "debug", "info", "warn" or "error".
    public var level: String
    /// The text.
    public var message: String
    /// Its origin.
    public var source: Source
    /// Extra structured fields from a program `log`.
    public var fields: JSONValue

    /// Creates an entry.
    public init(level: String, message: String, source: Source, fields: JSONValue = .null) {
        self.level = level
        self.message = message
        self.source = source
        self.fields = fields
    }
}
