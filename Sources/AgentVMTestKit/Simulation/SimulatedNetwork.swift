/// A network of any message type between any kind of address, in virtual time: per-link loss,
/// delay and duplication, and partitions that may cut one direction only. It only queues
/// deliveries; the harness that owns it pops them in time order and hands them to its nodes.
/// Gossip uses it with `GossipMessage`; the CRDT replicator can use it with its own messages.
public struct SimulatedNetwork<Address: Hashable & Sendable, Message: Sendable>: Sendable {
    /// A message due to arrive.
    public struct Delivery: Sendable {
        public var from: Address
        public var to: Address
        public var message: Message
    }

    /// Conditions of every link without its own.
    public var defaultConditions: LinkConditions
    /// What happened so far.
    public private(set) var stats = NetworkStats()

    private var conditions: [DirectedLink<Address>: LinkConditions] = [:]
    private var cut: Set<DirectedLink<Address>> = []
    private var queue = EventQueue<Delivery>()

    /// A network whose links all behave as `conditions` until told otherwise.
    public init(conditions: LinkConditions = .lan) {
        defaultConditions = conditions
    }

    /// Sets the conditions of the link from `from` to `to` (one direction).
    public mutating func setConditions(_ c: LinkConditions, from: Address, to: Address) {
        conditions[DirectedLink(from: from, to: to)] = c
    }

    /// Cuts every link between the two sides, both ways.
    public mutating func partition(_ side: some Sequence<Address>, from other: some Sequence<Address>) {
        let other = Array(other)
        for a in side {
            for b in other where a != b {
                cut.insert(DirectedLink(from: a, to: b))
                cut.insert(DirectedLink(from: b, to: a))
            }
        }
    }

    /// Cuts only the direction from `from` to `to`: an asymmetric partition.
    public mutating func block(from: Address, to: Address) {
        cut.insert(DirectedLink(from: from, to: to))
    }

    /// Whether the direction from `from` to `to` is cut.
    public func isBlocked(from: Address, to: Address) -> Bool {
        cut.contains(DirectedLink(from: from, to: to))
    }

    /// Restores every cut link (link conditions stay).
    public mutating func heal() { cut.removeAll() }

    /// Messages in flight.
    public var inFlight: Int { queue.count }

    /// When the next delivery is due.
    public var nextDeliveryTime: Duration? { queue.nextTime }

    /// Sends `message` at time `now`: it is lost, blocked, or queued (perhaps twice).
    public mutating func send<R: RandomNumberGenerator>(_ message: Message, from: Address, to: Address,
                                                        at now: Duration, using rng: inout R) {
        stats.sent += 1
        if isBlocked(from: from, to: to) {
            stats.blocked += 1
            return
        }
        let c = conditions[DirectedLink(from: from, to: to)] ?? defaultConditions
        if chance(c.loss, &rng) {
            stats.lost += 1
            return
        }
        let delivery = Delivery(from: from, to: to, message: message)
        queue.push(delivery, at: now + delay(in: c.delay, &rng))
        if chance(c.duplication, &rng) {
            stats.duplicated += 1
            queue.push(delivery, at: now + delay(in: c.delay, &rng))
        }
    }

    /// The next delivery due at or before `limit`, if any; one cut while in flight is dropped.
    public mutating func nextDelivery(notAfter limit: Duration) -> (at: Duration, delivery: Delivery)? {
        while let (at, d) = queue.pop(notAfter: limit) {
            if isBlocked(from: d.from, to: d.to) {
                stats.blocked += 1
                continue
            }
            stats.delivered += 1
            return (at, d)
        }
        return nil
    }

    private func chance<R: RandomNumberGenerator>(_ p: Double, _ rng: inout R) -> Bool {
        p > 0 && Double(rng.next() >> 11) * 0x1.0p-53 < p
    }

    private func delay<R: RandomNumberGenerator>(in range: ClosedRange<Duration>, _ rng: inout R) -> Duration {
        let lo = range.lowerBound, hi = range.upperBound
        guard hi > lo else { return lo }
        let span = (hi - lo) / .nanoseconds(1)
        let n = Double(rng.next() >> 11) * 0x1.0p-53 * span
        return lo + .nanoseconds(Int64(n))
    }
}
