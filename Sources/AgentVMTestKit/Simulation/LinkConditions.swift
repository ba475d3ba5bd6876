/// How one directed link behaves: each message is lost with probability `loss`, otherwise delivered
/// after a delay drawn uniformly from `delay`, and delivered a second time with probability
/// `duplication` (after its own delay, so duplicates may also arrive out of order).
public struct LinkConditions: Sendable, Hashable {
    /// Probability a message is lost, 0…1.
    public var loss: Double
    /// Delivery delay range.
    public var delay: ClosedRange<Duration>
    /// Probability a delivered message arrives twice, 0…1.
    public var duplication: Double

    public init(loss: Double = 0, delay: ClosedRange<Duration> = .milliseconds(1) ... .milliseconds(5), duplication: Double = 0) {
        self.loss = min(1, max(0, loss))
        self.delay = delay
        self.duplication = min(1, max(0, duplication))
    }

    /// A LAN: 1–5 ms, nothing lost or duplicated.
    public static let lan = LinkConditions()
}

/// One direction of a link between two addresses.
public struct DirectedLink<Address: Hashable & Sendable>: Hashable, Sendable {
    public var from: Address
    public var to: Address

    public init(from: Address, to: Address) {
        self.from = from
        self.to = to
    }
}

/// What a simulated network did with the messages given to it.
public struct NetworkStats: Sendable, Hashable {
    /// Messages handed to `send`.
    public var sent = 0
    /// Messages handed to their destination (duplicates included).
    public var delivered = 0
    /// Messages lost to link loss.
    public var lost = 0
    /// Messages dropped by a partition (at send or while in flight).
    public var blocked = 0
    /// Extra copies made by duplication.
    public var duplicated = 0
}
