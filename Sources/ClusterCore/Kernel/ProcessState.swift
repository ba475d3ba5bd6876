/// Where a process is in its life: created → starting → running ⇄ paused → terminated | crashed.
public enum ProcessState: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case created, starting, running, paused, terminated, crashed

    /// Whether the lifecycle allows going from `self` to `next`.
    public func canTransition(to next: ProcessState) -> Bool {
        switch (self, next) {
        case (.created, .starting), (.starting, .running), (.running, .paused), (.paused, .running):
            return true
        case (.created, .crashed), (.starting, .crashed), (.running, .crashed), (.paused, .crashed):
            return true
        case (.created, .terminated), (.starting, .terminated), (.running, .terminated),
             (.paused, .terminated), (.crashed, .terminated):
            return true
        default:
            return false
        }
    }

    /// Terminated or crashed: the process runs nothing until it is restored.
    public var isFinal: Bool { self == .terminated || self == .crashed }

    public var description: String { rawValue }
}
