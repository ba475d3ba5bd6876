import Foundation

/// How `Scheduler.run` orders and combines tasks. Every strategy honours `dependsOn`: a task starts
/// only after all its dependencies finished, and only if they all succeeded (otherwise it is skipped).
public enum ScheduleStrategy: String, Sendable, Codable, CaseIterable {
    /// One at a time in dependency-then-input order; the first task that does not succeed stops the
    /// run, and every task not yet started is `cancelled`.
    case sequential
    /// Up to `maxConcurrency` at once; a failure affects only the failed task's dependents.
    case parallel
    /// Up to `maxConcurrency` at once; the first success wins and every other task is `cancelled`
    /// (running ones through task cancellation). If none succeeds, every result is a failure.
    case race
    /// One at a time like `sequential`, but each task's `condition` is asked first (false = `skipped`),
    /// and a failure does not stop the run.
    case conditional
}

/// Retrying a failed task: up to `maxAttempts` attempts in all, waiting `backoff` between them.
public struct RetryPolicy: Sendable, Hashable, Codable {
    public enum Backoff: Sendable, Hashable, Codable {
        /// The same wait every time.
        case fixed(Duration)
        /// `initial`, then times `multiplier` per retry, never more than `max`.
        case exponential(initial: Duration, multiplier: Double, max: Duration)
    }

    /// Attempts in all, the first included (1 = no retry).
    public var maxAttempts: Int
    public var backoff: Backoff
    /// 0...1: each wait is shortened by a random fraction up to `jitter` (1 = anywhere in (0, wait]),
    /// so retries of many tasks do not fire in lockstep.
    public var jitter: Double

    public init(maxAttempts: Int, backoff: Backoff = .fixed(.zero), jitter: Double = 0) {
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.jitter = jitter
    }

    /// The wait before retry number `retry` (1 = after the first failure), given a random number in 0..<1.
    public func delay(beforeRetry retry: Int, random: Double) -> Duration {
        let base: Duration
        switch backoff {
        case .fixed(let d):
            base = d
        case .exponential(let initial, let multiplier, let cap):
            let factor = pow(max(multiplier, 1), Double(max(retry - 1, 0)))
            let scaled = Self.seconds(initial) * factor
            base = scaled.isFinite && scaled < Self.seconds(cap) ? initial * factor : cap
        }
        let j = min(max(jitter, 0), 1)
        let r = min(max(random, 0), 1)
        return base * (1 - j * r)
    }

    static func seconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}

/// How a task ended.
public enum TaskStatus: String, Sendable, Hashable, Codable {
    case succeeded, failed, skipped, cancelled, timedOut
}

/// The outcome of one task.
public struct TaskResult: Sendable, Hashable, Codable {
    public var id: String
    public var status: TaskStatus
    public var output: JSONValue?
    /// Why it failed, was skipped, cancelled or timed out; nil on success.
    public var error: String?
    /// Attempts made (0 when it never started).
    public var attempts: Int
    /// Wall time from its first attempt to its end, backoff waits included.
    public var duration: Duration

    public init(id: String, status: TaskStatus, output: JSONValue? = nil, error: String? = nil,
                attempts: Int = 0, duration: Duration = .zero) {
        self.id = id
        self.status = status
        self.output = output
        self.error = error
        self.attempts = attempts
        self.duration = duration
    }
}

/// One unit of work for the scheduler.
public struct ScheduledTask: Sendable {
    /// Unique within one run.
    public var id: String
    /// Ids of tasks that must succeed before this one runs.
    public var dependsOn: [String]
    public var retry: RetryPolicy?
    /// Limit on each attempt; an attempt over it is cancelled and counts as timed out.
    public var timeout: Duration?
    /// Asked by the `conditional` strategy with the results so far; false = skipped.
    public var condition: (@Sendable ([String: TaskResult]) -> Bool)?
    /// The work; gets the results finished so far (its dependencies' among them).
    public var run: @Sendable ([String: TaskResult]) async throws -> JSONValue

    public init(id: String, dependsOn: [String] = [], retry: RetryPolicy? = nil, timeout: Duration? = nil,
                condition: (@Sendable ([String: TaskResult]) -> Bool)? = nil,
                run: @escaping @Sendable ([String: TaskResult]) async throws -> JSONValue) {
        self.id = id
        self.dependsOn = dependsOn
        self.retry = retry
        self.timeout = timeout
        self.condition = condition
        self.run = run
    }
}

/// A task list that cannot be run.
public enum SchedulerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The ids around a dependency cycle, first repeated last: `["a", "b", "a"]`.
    case cycle([String])
    case unknownDependency(task: String, dependency: String)
    case duplicateTask(String)

    public var description: String {
        switch self {
        case .cycle(let ids): return "dependency cycle: \(ids.joined(separator: " -> "))"
        case .unknownDependency(let task, let dependency):
            return "task '\(task)' depends on '\(dependency)', which is not in the run"
        case .duplicateTask(let id): return "task id '\(id)' appears more than once"
        }
    }
}

/// Counters over every run of one scheduler.
public struct SchedulerStats: Sendable, Hashable, Codable {
    public var runs: UInt64 = 0
    public var tasks: UInt64 = 0
    public var succeeded: UInt64 = 0
    public var failed: UInt64 = 0
    public var skipped: UInt64 = 0
    public var cancelled: UInt64 = 0
    public var timedOut: UInt64 = 0
    /// Attempts beyond the first.
    public var retries: UInt64 = 0

    public init() {}
}
