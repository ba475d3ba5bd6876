/// When a dead exec agent is started again.
public struct RestartPolicy: Sendable, Equatable {
    /// The three modes.
    public enum Mode: String, Sendable, Equatable {
        /// Never restart.
        case never
        /// Restart after a non-zero exit or a signal.
        case onFailure = "on-failure"
        /// Restart after any exit the node did not ask for.
        case always
    }

    /// The mode.
    public var mode: Mode
    /// Most restarts allowed over the process's life.
    public var maxRestarts: Int

    /// Creates a policy.
    public init(mode: Mode, maxRestarts: Int = 5) {
        self.mode = mode
        self.maxRestarts = maxRestarts
    }

    /// The decision after an exit.
    public enum Decision: Sendable, Equatable {
        /// Start it again; this would be restart number `attempt`.
        case restart(attempt: Int)
        /// Leave it stopped, with the reason.
        case stop(reason: String)
    }

    /// Pure decision: what to do after `exit`, given `restartsSoFar`.
    public func decide(after exit: ExecExit, restartsSoFar: Int) -> Decision {
        if exit.requested { return .stop(reason: "stopped on request") }
        switch mode {
        case .never: return .stop(reason: "restart policy is never (\(exit))")
        case .onFailure where exit.isSuccess: return .stop(reason: "exited successfully")
        case .onFailure, .always:
            if restartsSoFar >= maxRestarts {
                return .stop(reason: "gave up after \(restartsSoFar) restarts (\(exit))")
            }
            return .restart(attempt: restartsSoFar + 1)
        }
    }
}
