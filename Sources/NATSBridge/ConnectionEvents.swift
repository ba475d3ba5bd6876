import CNATS
import Synchronization
import Transport

/// The connection's callback context: current state, its listeners, async-error counters and
/// the reconnect policy. libnats holds one retained reference from connect until the closed
/// callback, which is always the last connection callback; that callback releases it.
final class ConnectionEvents: Sendable {
    private struct State {
        var current: TransportState
        var listeners: [UInt64: AsyncStream<TransportState>.Continuation] = [:]
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>
    let reconnect: NATSOptions.Reconnect
    /// Slow-consumer errors the library reported (a subscription's pending limit was hit).
    let slowConsumerErrors = Atomic<UInt64>(0)
    /// Other asynchronous errors the library reported.
    let asyncErrors = Atomic<UInt64>(0)
    /// Times the connection came back after a disconnection.
    let reconnects = Atomic<UInt64>(0)

    init(initial: TransportState, reconnect: NATSOptions.Reconnect) {
        state = Mutex(State(current: initial))
        self.reconnect = reconnect
    }

    var current: TransportState { state.withLock { $0.current } }

    /// A stream that yields the current state first and then every change; it ends after `closed`.
    func updates() -> AsyncStream<TransportState> {
        let (stream, continuation) = AsyncStream<TransportState>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let id: UInt64? = state.withLock { s in
            continuation.yield(s.current)
            if s.current == .closed { return nil }
            s.nextID += 1
            s.listeners[s.nextID] = continuation
            return s.nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.listeners.removeValue(forKey: id) }
        }
        return stream
    }

    func set(_ new: TransportState) {
        let targets = state.withLock { s -> [AsyncStream<TransportState>.Continuation] in
            // After closed nothing else can happen; a late callback must not reopen the state.
            if s.current == .closed { return [] }
            s.current = new
            return Array(s.listeners.values)
        }
        for c in targets {
            c.yield(new)
            if new == .closed { c.finish() }
        }
        if new == .closed { state.withLock { $0.listeners.removeAll() } }
    }

    /// Capped exponential backoff plus random jitter, in milliseconds.
    func reconnectDelay(attempts: Int) -> Int64 {
        let base = max(1, reconnect.wait.milliseconds)
        let cap = max(base, reconnect.maxWait.milliseconds)
        let shift = min(max(attempts - 1, 0), 20)
        let delay = min(cap, base << Int64(shift))
        let jitter = reconnect.jitter.milliseconds
        return delay + (jitter > 0 ? Int64.random(in: 0...jitter) : 0)
    }
}

private func events(_ closure: UnsafeMutableRawPointer?) -> ConnectionEvents? {
    closure.map { Unmanaged<ConnectionEvents>.fromOpaque($0).takeUnretainedValue() }
}

// libnats calls these from its own threads; they are free functions so that no actor isolation
// is inferred for them.

func natsConnectedCallback(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    events(closure)?.set(.connected)
}

func natsDisconnectedCallback(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    events(closure)?.set(.disconnected)
}

func natsReconnectedCallback(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let e = events(closure) else { return }
    e.reconnects.add(1, ordering: .relaxed)
    e.set(.reconnected)
}

func natsClosedCallback(_ nc: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    let e = Unmanaged<ConnectionEvents>.fromOpaque(closure).takeRetainedValue()
    e.set(.closed)
}

func natsAsyncErrorCallback(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ err: natsStatus,
                            _ closure: UnsafeMutableRawPointer?) {
    guard let e = events(closure) else { return }
    if err == NATS_SLOW_CONSUMER {
        e.slowConsumerErrors.add(1, ordering: .relaxed)
    } else {
        e.asyncErrors.add(1, ordering: .relaxed)
    }
}

func natsReconnectDelayCallback(_ nc: OpaquePointer?, _ attempts: Int32, _ closure: UnsafeMutableRawPointer?) -> Int64 {
    events(closure)?.reconnectDelay(attempts: Int(attempts)) ?? 1_000
}
