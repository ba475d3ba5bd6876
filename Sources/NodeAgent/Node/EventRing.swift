import ClusterCore
import Synchronization

/// The node's most recent events, kept for `/v1/logs`: a fixed-size ring fed by an `EventBus`
/// subscription, so old events fall off and memory stays bounded.
public final class EventRing: Sendable {
    private struct State {
        var buffer: [KernelEvent?]
        var next = 0
        var count = 0
    }

    /// Most events kept.
    public let capacity: Int
    private let state: Mutex<State>
    private let subscription = Mutex<EventSubscription?>(nil)

    /// An empty ring of `capacity` events.
    public init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
        state = Mutex(State(buffer: Array(repeating: nil, count: max(1, capacity))))
    }

    /// Starts recording every event of `bus`.
    public func attach(to bus: EventBus) {
        let sub = bus.on(.all, bufferSize: capacity) { [weak self] event in self?.append(event) }
        let old = subscription.withLock { s -> EventSubscription? in
            let o = s
            s = sub
            return o
        }
        old?.cancel()
    }

    /// Stops recording; what was recorded stays.
    public func detach() {
        subscription.withLock { s -> EventSubscription? in
            let o = s
            s = nil
            return o
        }?.cancel()
    }

    /// Adds one event, dropping the oldest when full.
    public func append(_ event: KernelEvent) {
        state.withLock { s in
            s.buffer[s.next] = event
            s.next = (s.next + 1) % capacity
            s.count = min(s.count + 1, capacity)
        }
    }

    /// Up to `limit` of the newest events (oldest first) with id above `after`, concerning `process`
    /// when given: its `source`, or a `process` field in its data.
    public func recent(process: String? = nil, type: EventFilter = .all, after: UInt64? = nil, limit: Int = 100) -> [KernelEvent] {
        guard limit > 0 else { return [] }
        return state.withLock { s -> [KernelEvent] in
            var out: [KernelEvent] = []
            var i = 0
            while i < s.count && out.count < limit {
                let index = (s.next - 1 - i + capacity * 2) % capacity
                i += 1
                guard let e = s.buffer[index] else { continue }
                if let after, e.id <= after { continue }
                if let process, e.source != process, e.data["process"]?.stringValue != process { continue }
                if !type.matches(e.type) { continue }
                out.append(e)
            }
            return out.reversed()
        }
    }

    /// Events held now.
    public var count: Int { state.withLock { $0.count } }
}
