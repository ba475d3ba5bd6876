import Foundation
import Synchronization

/// Fans kernel events out to listeners without ever waiting for them.
///
/// Each listener has a bounded buffer; when it is full, new events for that listener are dropped and
/// counted (`droppedEvents`), so a slow or stuck listener cannot block or grow the kernel. A handler
/// passed to `on` runs on its own task; if it throws, the error is counted and delivery goes on.
public final class EventBus: Sendable {
    private struct Listener {
        let filter: EventFilter
        let continuation: AsyncStream<KernelEvent>.Continuation
    }

    private struct State {
        var listeners: [UInt64: Listener] = [:]
        var nextListener: UInt64 = 1
    }

    private let state = Mutex(State())
    private let nextEventID = Atomic<UInt64>(0)
    private let dropped = Atomic<UInt64>(0)
    private let failures = Atomic<UInt64>(0)
    private let hasListeners = Atomic<Bool>(false)
    /// Default buffer size of one listener, in events.
    public let defaultBufferSize: Int

    public init(defaultBufferSize: Int = 10_000) {
        self.defaultBufferSize = defaultBufferSize
    }

    /// Events dropped because a listener's buffer was full.
    public var droppedEvents: UInt64 { dropped.load(ordering: .relaxed) }
    /// Errors thrown by `on` handlers (each was caught; delivery went on).
    public var listenerErrors: UInt64 { failures.load(ordering: .relaxed) }
    /// Events emitted so far.
    public var emittedEvents: UInt64 { nextEventID.load(ordering: .relaxed) }
    /// Listeners currently attached.
    public var listenerCount: Int { state.withLock { $0.listeners.count } }

    /// Emits an event. `data` is only built when some listener wants this type.
    @discardableResult
    public func emit(_ type: String, source: String, data: @autoclosure () -> JSONValue = .null) -> UInt64 {
        let id = nextEventID.wrappingAdd(1, ordering: .relaxed).newValue
        guard hasListeners.load(ordering: .relaxed) else { return id }
        let targets = state.withLock { s in
            s.listeners.values.filter { $0.filter.matches(type) }.map(\.continuation)
        }
        guard !targets.isEmpty else { return id }
        let event = KernelEvent(id: id, type: type, source: source, timestamp: Date(), data: data())
        for c in targets {
            if case .dropped = c.yield(event) { dropped.wrappingAdd(1, ordering: .relaxed) }
        }
        return id
    }

    /// A stream of events whose type matches `filter` (see `EventFilter`), buffered up to `bufferSize`.
    public func subscribe(_ filter: EventFilter = .all, bufferSize: Int? = nil) -> EventSubscription {
        let (stream, continuation) = AsyncStream<KernelEvent>.makeStream(
            bufferingPolicy: .bufferingOldest(bufferSize ?? defaultBufferSize))
        let id = state.withLock { s -> UInt64 in
            let id = s.nextListener
            s.nextListener += 1
            s.listeners[id] = Listener(filter: filter, continuation: continuation)
            hasListeners.store(true, ordering: .relaxed)
            return id
        }
        return EventSubscription(events: stream) { [weak self] in
            guard let self else { return }
            let removed = self.state.withLock { s -> Listener? in
                let l = s.listeners.removeValue(forKey: id)
                self.hasListeners.store(!s.listeners.isEmpty, ordering: .relaxed)
                return l
            }
            removed?.continuation.finish()
        }
    }

    /// Calls `handler` for each matching event on a task of its own. Errors it throws are counted.
    @discardableResult
    public func on(_ filter: EventFilter = .all, bufferSize: Int? = nil,
                   _ handler: @escaping @Sendable (KernelEvent) async throws -> Void) -> EventSubscription {
        let sub = subscribe(filter, bufferSize: bufferSize)
        // The task keeps the subscription alive until `cancel()` ends its stream.
        let task = Task { [sub, weak self] in
            for await event in sub.events {
                do { try await handler(event) } catch { self?.failures.wrappingAdd(1, ordering: .relaxed) }
            }
        }
        sub.attach(task)
        return sub
    }
}

/// Which event types a listener wants: all, one exact type, or a dotted prefix (`process.*`).
public struct EventFilter: Sendable, Hashable, ExpressibleByStringLiteral {
    public let pattern: String

    /// `*` or empty for all; `a.b` for exactly that type; `a.*` for every type starting with `a.`.
    public init(_ pattern: String) { self.pattern = pattern }
    public init(stringLiteral value: String) { self.pattern = value }

    public static let all = EventFilter("*")

    public func matches(_ type: String) -> Bool {
        if pattern == "*" || pattern.isEmpty { return true }
        if pattern.hasSuffix(".*") { return type.hasPrefix(pattern.dropLast()) }
        return type == pattern
    }
}

/// A listener's handle: its event stream, and `cancel()` to detach.
public final class EventSubscription: Sendable {
    public let events: AsyncStream<KernelEvent>
    private let cancelAction: @Sendable () -> Void
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(events: AsyncStream<KernelEvent>, cancel: @escaping @Sendable () -> Void) {
        self.events = events
        self.cancelAction = cancel
    }

    func attach(_ t: Task<Void, Never>) { task.withLock { $0 = t } }

    /// Detaches the listener and ends its stream. Idempotent.
    public func cancel() {
        cancelAction()
        task.withLock { $0?.cancel() }
    }

    deinit { cancelAction() }
}
