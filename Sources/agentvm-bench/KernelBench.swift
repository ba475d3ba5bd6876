import ClusterCore
import Foundation
import Synchronization

/// `agentvm-bench kernel`: spawn+terminate rate, direct and fan-out message rates, and the resident
/// memory of an idle process. Prints `NAME VALUE` lines.
enum KernelBench {
    /// AGENTVM_BENCH_SCALE (default 1) shrinks the workloads, e.g. to run under valgrind.
    static func run() async {
        await run(scale: ProcessInfo.processInfo.environment["AGENTVM_BENCH_SCALE"].flatMap(Double.init) ?? 1)
    }

    /// `scale` shrinks the workloads (for a quick check in a debug build); figures are per second.
    static func run(scale: Double) async {
        func n(_ full: Int) -> Int { max(10, Int(Double(full) * scale)) }
        // AGENTVM_BENCH_ONLY=direct (say) runs one figure, for profiling it alone.
        let only = ProcessInfo.processInfo.environment["AGENTVM_BENCH_ONLY"]
        func wanted(_ name: String) -> Bool { only == nil || name.hasPrefix(only ?? "") }
        do {
            if wanted("idle") { print("idle_process_bytes", try await idleProcessBytes(count: n(100_000))) }
            if wanted("spawn") { print("spawn_terminate_per_s", try await spawnTerminate(count: n(200_000))) }
            if wanted("direct") { print("direct_msgs_per_s", try await directMessages(count: n(2_000_000))) }
            if wanted("fanout") { print("fanout_deliveries_per_s", try await fanout(messages: n(100_000), subscribers: 10)) }
        } catch {
            print("kernel_bench_error", "\"\(error)\"")
        }
        // A profiling run of one kernel figure ends here; AGENTVM_BENCH_ONLY=memory runs the
        // memory suite (in-memory and SQLite figures) alone.
        if only != nil && only != "memory" { exit(0) }
    }

    /// Counts deliveries; a message handler that does nothing else.
    final class Counting: AgentHandler {
        let received = Atomic<Int>(0)
        func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput { AgentOutput(.null) }
        func receive(_ message: BrokerMessage, context: ExecutionContext) async throws {
            received.add(1, ordering: .relaxed)
        }
    }

    static func kernel(_ handler: any AgentHandler, maxProcesses: Int = 1_000_000, mailbox: Int = 10_000) throws -> Kernel {
        let handlers = HandlerRegistry.withBuiltIns()
        handlers.register("bench", handler: handler)
        let k = Kernel(config: KernelConfig(nodeID: "b", maxProcesses: maxProcesses, mailboxCapacity: mailbox,
                                            terminatedRetention: 1_000), handlers: handlers)
        try k.register(AgentDefinition(name: "bench", handler: "bench"))
        return k
    }

    static func perSecond(_ count: Int, _ d: Duration) -> Int {
        Int((Double(count) / max(d.seconds, 1e-9)).rounded())
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func idleProcessBytes(count: Int) async throws -> Int {
        let k = try kernel(EchoHandler())
        // Warm up the table's growth path, then measure a fresh population.
        for id in try await k.spawn("bench", count: 1000) { try await k.terminate(id) }
        let before = residentBytes()
        _ = try await k.spawn("bench", count: count)
        let after = residentBytes()
        withExtendedLifetime(k) {}
        return (after - before) / count
    }

    static func spawnTerminate(count: Int) async throws -> Int {
        let k = try kernel(EchoHandler())
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<count {
            let id = try await k.spawn("bench")
            try await k.terminate(id)
        }
        return perSecond(count, clock.now - start)
    }

    static func directMessages(count: Int) async throws -> Int {
        let counter = Counting()
        let k = try kernel(counter, mailbox: count)
        let pid = try await k.spawn("bench")
        let clock = ContinuousClock()
        let start = clock.now
        for i in 0..<count {
            try await k.send(to: pid, from: "bench", payload: .number(Double(i)))
        }
        while counter.received.load(ordering: .relaxed) < count { try await Task.sleep(for: .milliseconds(1)) }
        return perSecond(count, clock.now - start)
    }

    static func fanout(messages: Int, subscribers: Int) async throws -> Int {
        let counter = Counting()
        let k = try kernel(counter, mailbox: messages)
        try k.broker.createChannel(ChannelConfig(name: "fanout", type: .pubsub, historyLimit: 1))
        for id in try await k.spawn("bench", count: subscribers) { try await k.subscribe(id, to: "fanout") }
        let total = messages * subscribers
        let clock = ContinuousClock()
        let start = clock.now
        for i in 0..<messages {
            try await k.publish("fanout", from: "bench", payload: .number(Double(i)))
        }
        while counter.received.load(ordering: .relaxed) < total { try await Task.sleep(for: .milliseconds(1)) }
        return perSecond(total, clock.now - start)
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
