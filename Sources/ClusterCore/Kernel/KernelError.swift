/// Why a kernel call failed. Each case names what it concerns.
public enum KernelError: Error, Sendable, Hashable, CustomStringConvertible {
    case agentNotFound(String)
    case agentExists(String)
    case invalidAgent(agent: String, reason: String)
    case handlerNotFound(handler: String, agent: String)
    case processNotFound(String)
    case processExists(String)
    case processLimitReached(limit: Int)
    /// The lifecycle does not allow this step.
    case illegalTransition(process: String, from: ProcessState, to: ProcessState)
    /// The call needs a running process.
    case notRunning(process: String, state: ProcessState)
    case concurrencyLimit(process: String, limit: Int)
    case tokenBudgetExceeded(process: String, used: Int, budget: Int)
    case timedOut(process: String, after: Duration)
    /// The process was terminated while the call ran.
    case terminated(process: String)
    /// The handler threw; the process crashed (a checkpoint was taken).
    case handlerFailed(process: String, agent: String, message: String)
    /// The process's mailbox is full or it takes no messages in its state.
    case messageRejected(process: String, reason: String)
    case startFailed(process: String, message: String)
    case journal(String)
    /// The kernel is shutting down and takes no new work.
    case shuttingDown

    public var description: String {
        switch self {
        case .agentNotFound(let a): return "no agent named \"\(a)\" is registered"
        case .agentExists(let a): return "an agent named \"\(a)\" is already registered"
        case .invalidAgent(let a, let r): return "agent \"\(a)\" is invalid: \(r)"
        case .handlerNotFound(let h, let a):
            return "agent \"\(a)\" names handler \"\(h)\", which is not in the handler registry"
        case .processNotFound(let p): return "no process \(p)"
        case .processExists(let p): return "process \(p) already exists and is not terminated or crashed"
        case .processLimitReached(let l): return "maxProcesses (\(l)) reached"
        case .illegalTransition(let p, let f, let t): return "process \(p) cannot go from \(f) to \(t)"
        case .notRunning(let p, let s): return "process \(p) is \(s), not running"
        case .concurrencyLimit(let p, let l): return "process \(p) already runs \(l) execution(s), its maxConcurrentExecutions"
        case .tokenBudgetExceeded(let p, let u, let b): return "process \(p) used \(u) tokens of its budget of \(b)"
        case .timedOut(let p, let d): return "execution on process \(p) timed out after \(d)"
        case .terminated(let p): return "process \(p) was terminated while the call ran"
        case .handlerFailed(let p, let a, let m): return "handler of agent \"\(a)\" failed on process \(p): \(m)"
        case .messageRejected(let p, let r): return "process \(p) rejected the message: \(r)"
        case .startFailed(let p, let m): return "process \(p) failed to start: \(m)"
        case .journal(let m): return "kernel journal failed: \(m)"
        case .shuttingDown: return "the kernel is shutting down and takes no new work"
        }
    }
}
