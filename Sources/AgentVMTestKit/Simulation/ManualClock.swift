import Synchronization

/// Virtual time that moves only when told, like swift-nio's `EmbeddedEventLoop`: a simulation reads
/// `now` and advances it to the next event, so a run of ten simulated minutes takes milliseconds and
/// always unfolds the same way.
public final class ManualClock: Sendable {
    private let current: Mutex<Duration>

    /// A clock reading `now` (time since the simulation's origin).
    public init(now: Duration = .zero) {
        current = Mutex(now)
    }

    /// The current virtual time.
    public var now: Duration { current.withLock { $0 } }

    /// Moves time forward by `delta` (a negative delta is ignored: time never runs back).
    public func advance(by delta: Duration) {
        current.withLock { $0 = $0 + max(.zero, delta) }
    }

    /// Moves time forward to `instant`, or leaves it if `instant` is already past.
    public func advance(to instant: Duration) {
        current.withLock { $0 = max($0, instant) }
    }
}
