import Foundation
import Synchronization
@testable import ClusterCore

/// A clock that moves only when a test says so.
final class ToolTestClock: Sendable {
    private let current = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { current.withLock { $0 } }
    func advance(_ d: Duration) { current.withLock { $0 += d } }
    var read: @Sendable () -> ContinuousClock.Instant { { [self] in self.now } }
}

/// A thread-safe counter for handlers.
final class ToolTestCounter: Sendable {
    private let n = Atomic<Int>(0)
    func bump() { n.wrappingAdd(1, ordering: .relaxed) }
    var value: Int { n.load(ordering: .relaxed) }
}

/// Events a subscription has buffered so far. The router emits synchronously before `invoke`
/// returns or throws, so after the call everything is already buffered; cancelling ends the stream.
func drainToolEvents(_ sub: EventSubscription) async -> [KernelEvent] {
    sub.cancel()
    var out: [KernelEvent] = []
    for await e in sub.events { out.append(e) }
    return out
}

/// A continuation a handler parks on until the test releases it (proves the router does not wait).
final class ToolTestGate: Sendable {
    private let waiting = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let released = Mutex(false)
    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = released.withLock { r -> Bool in
                if r { return true }
                waiting.withLock { $0.append(c) }
                return false
            }
            if resumeNow { c.resume() }
        }
    }
    func release() {
        let list = released.withLock { r -> [CheckedContinuation<Void, Never>] in
            r = true
            return waiting.withLock { w in defer { w = [] }; return w }
        }
        for c in list { c.resume() }
    }
    var waiters: Int { waiting.withLock { $0.count } }
}

func echoTool(_ name: String = "echo", permission: PermissionLevel = .none, sideEffects: Set<SideEffect> = [],
              rateLimit: RateLimit? = nil, schema: JSONSchema? = nil, counter: ToolTestCounter? = nil) -> ToolDefinition {
    ToolDefinition(name: name, description: "returns its arguments", inputSchema: schema, permission: permission,
                   sideEffects: sideEffects, rateLimit: rateLimit) { args, _ in
        counter?.bump()
        return args
    }
}
