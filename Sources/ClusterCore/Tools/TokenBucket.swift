/// A token bucket: holds up to `count` tokens, gains `count` per `per`, and a call takes one.
/// Pure value: the caller feeds in the time, so tests drive it with any clock.
struct TokenBucket: Sendable {
    private(set) var tokens: Double
    private(set) var updated: ContinuousClock.Instant

    init(limit: RateLimit, now: ContinuousClock.Instant) {
        tokens = Double(limit.count)
        updated = now
    }

    /// Takes a token if one is there; otherwise returns how long until one will be.
    mutating func take(limit: RateLimit, now: ContinuousClock.Instant) -> Duration? {
        let capacity = Double(limit.count)
        if now > updated {
            tokens = min(capacity, tokens + (now - updated) / limit.per * capacity)
            updated = now
        }
        // Tolerate rounding so that exactly one interval (or 1/count of it) refills exactly.
        if tokens >= 1 - 1e-9 {
            tokens = max(0, tokens - 1)
            return nil
        }
        let wait = limit.per * ((1 - tokens) / capacity)
        return wait > .zero ? wait : .nanoseconds(1)
    }

    /// A full bucket behaves exactly like a fresh one, so it can be dropped to save memory.
    func isFull(limit: RateLimit, now: ContinuousClock.Instant) -> Bool {
        let capacity = Double(limit.count)
        return now > updated ? tokens + (now - updated) / limit.per * capacity >= capacity : tokens >= capacity
    }
}
