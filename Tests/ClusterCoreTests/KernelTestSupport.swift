import Foundation
import Synchronization
import Testing
@testable import ClusterCore

/// Polls `condition` every few milliseconds until it holds or `seconds` pass; returns whether it held.
func eventually(_ seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// A kernel with a test-only handler registry (built-ins plus the given handlers).
func makeKernel(_ config: KernelConfig = KernelConfig(nodeID: "t"), events: EventBus = EventBus(),
                journal: any KernelJournal = NoKernelJournal(),
                handlers extra: [String: any AgentHandler] = [:]) -> Kernel {
    let registry = HandlerRegistry.withBuiltIns()
    for (name, h) in extra { registry.register(name, handler: h) }
    return Kernel(config: config, events: events, handlers: registry, journal: journal)
}

/// Collects events of interest for assertions.
final class EventLog: Sendable {
    private final class Store: Sendable { let seen = Mutex<[KernelEvent]>([]) }
    private let store = Store()
    private let subscription: EventSubscription

    init(_ bus: EventBus, _ filter: EventFilter = .all) {
        let store = self.store
        subscription = bus.on(filter) { e in store.seen.withLock { $0.append(e) } }
    }

    var events: [KernelEvent] { store.seen.withLock { $0 } }
    func types() -> [String] { events.map(\.type) }
    func contains(_ type: String, source: String? = nil) -> Bool {
        events.contains { $0.type == type && (source == nil || $0.source == source) }
    }
    deinit { subscription.cancel() }
}

/// Blocks in `execute` until cancelled, counting starts and cancellations.
final class BlockingHandler: AgentHandler {
    let started = Atomic<Int>(0)
    let cancelled = Atomic<Int>(0)
    init() {}
    func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
        started.add(1, ordering: .relaxed)
        do {
            try await Task.sleep(for: .seconds(60))
        } catch {
            cancelled.add(1, ordering: .relaxed)
            throw error
        }
        return AgentOutput(.null)
    }
}

/// Throws from `execute`, and from `receive` when the payload says `fail`.
final class FailingHandler: AgentHandler {
    struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
    let attempts = Atomic<Int>(0)
    func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
        try await context.memory.set("before", "crash")
        throw Boom()
    }
    func receive(_ message: BrokerMessage, context: ExecutionContext) async throws {
        attempts.add(1, ordering: .relaxed)
        if message.payload == "fail" { throw Boom() }
    }
}

/// Records received payloads in order; `execute` reports the usage its input asks for.
final class RecordingHandler: AgentHandler {
    let received = Mutex<[JSONValue]>([])
    func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
        if let t = task.input["tokens"]?.intValue {
            try context.reportUsage(tokens: t, cost: task.input["cost"]?.doubleValue ?? 0)
        }
        if let ms = task.input["sleepMs"]?.intValue { try await Task.sleep(for: .milliseconds(ms)) }
        return AgentOutput(task.input["output"] ?? task.input, tokens: task.input["returnTokens"]?.intValue ?? 0)
    }
    func receive(_ message: BrokerMessage, context: ExecutionContext) async throws {
        received.withLock { $0.append(message.payload) }
    }
    var payloads: [JSONValue] { received.withLock { $0 } }
}
