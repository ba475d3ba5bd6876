import Foundation
import Synchronization

/// Passes at most `limit` lines per `window` to a logger and counts the rest, so a flood (a peer
/// sending garbage 15 times a second, or every publish failing during a long NATS outage) cannot
/// fill the log. The first lines of every window still name the sender and the reason.
final class LogThrottle: Sendable {
    private struct State {
        var windowStart: ContinuousClock.Instant
        var passed = 0
        var suppressed = 0
    }

    private let limit: Int
    private let window: Duration
    private let state: Mutex<State>

    init(limit: Int = 20, window: Duration = .seconds(10)) {
        self.limit = max(1, limit)
        self.window = window
        state = Mutex(State(windowStart: .now))
    }

    /// Whether this line may be written now; `suppressedBefore` is the count of lines held back in
    /// the window that just ended (write it once so the gap is visible).
    func admit(now: ContinuousClock.Instant = .now) -> (pass: Bool, suppressedBefore: Int) {
        state.withLock { s in
            var report = 0
            if now - s.windowStart >= window {
                report = s.suppressed
                s = State(windowStart: now)
            }
            guard s.passed < limit else {
                s.suppressed += 1
                return (false, report)
            }
            s.passed += 1
            return (true, report)
        }
    }
}
