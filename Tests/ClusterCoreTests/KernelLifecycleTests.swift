import Foundation
import Synchronization
import Testing
@testable import ClusterCore

@Suite("Kernel process lifecycle")
struct KernelLifecycleTests {
    @Test func idsAreUniqueCompactAndPrefixedByNode() async throws {
        let kernel = makeKernel(KernelConfig(nodeID: "n7"))
        try kernel.register(AgentDefinition(name: "e", handler: "echo"))
        let ids = try await kernel.spawn("e", count: 500)
        #expect(Set(ids).count == 500)
        #expect(ids.allSatisfy { $0.hasPrefix("n7-") && $0.utf8.count <= 15 })
        let other = makeKernel(KernelConfig(nodeID: "n8"))
        try other.register(AgentDefinition(name: "e", handler: "echo"))
        let theirs = try await other.spawn("e")
        #expect(!ids.contains(theirs))
    }

    @Test func lifecycleStepsAndEvents() async throws {
        let events = EventBus()
        let log = EventLog(events, "process.*")
        let kernel = makeKernel(events: events)
        try kernel.register(AgentDefinition(name: "e", handler: "echo"))
        let pid = try await kernel.spawn("e")
        #expect(kernel.process(pid)?.state == .running)
        try await kernel.pause(pid)
        #expect(kernel.process(pid)?.state == .paused)
        try await kernel.resume(pid)
        #expect(kernel.process(pid)?.state == .running)
        try await kernel.terminate(pid)
        #expect(kernel.process(pid)?.state == .terminated)
        #expect(await eventually { log.types().contains("process.terminated") })
        #expect(log.types() == ["process.spawned", "process.starting", "process.started", "process.paused",
                                "process.resumed", "process.terminated"])
        #expect(log.events.allSatisfy { $0.source == pid })
    }

    @Test func illegalTransitionsThrowNamingBothStates() async throws {
        let kernel = makeKernel()
        try kernel.register(AgentDefinition(name: "e", handler: "echo"))
        let pid = try await kernel.spawn("e")
        await #expect(throws: KernelError.illegalTransition(process: pid, from: .running, to: .running)) {
            try await kernel.resume(pid)
        }
        try await kernel.pause(pid)
        await #expect(throws: KernelError.illegalTransition(process: pid, from: .paused, to: .paused)) {
            try await kernel.pause(pid)
        }
        let message = KernelError.illegalTransition(process: pid, from: .paused, to: .paused).description
        #expect(message.contains("paused") && message.contains(pid))
        await #expect(throws: KernelError.notRunning(process: pid, state: .paused)) {
            try await kernel.execute(pid, AgentTask())
        }
        await #expect(throws: KernelError.processNotFound("t-zzz")) { try await kernel.pause("t-zzz") }
        #expect(!ProcessState.terminated.canTransition(to: .running))
        #expect(!ProcessState.crashed.canTransition(to: .running))
        #expect(!ProcessState.created.canTransition(to: .paused))
    }

    @Test func terminateIsIdempotentAndCancelsRunningWork() async throws {
        let blocking = BlockingHandler()
        let kernel = makeKernel(handlers: ["block": blocking])
        try kernel.register(AgentDefinition(name: "b", handler: "block"))
        let pid = try await kernel.spawn("b")
        let work = Task { try await kernel.execute(pid, AgentTask()) }
        #expect(await eventually { blocking.started.load(ordering: .relaxed) == 1 })
        try await kernel.terminate(pid)
        let outcome = await work.result
        #expect(throws: KernelError.terminated(process: pid)) { try outcome.get() }
        #expect(await eventually { blocking.cancelled.load(ordering: .relaxed) == 1 })
        try await kernel.terminate(pid)   // again: nothing happens
        #expect(kernel.process(pid)?.state == .terminated)
        await #expect(throws: KernelError.self) { try await kernel.resume(pid) }
    }

    @Test func maxProcessesIsEnforced() async throws {
        let kernel = makeKernel(KernelConfig(nodeID: "m", maxProcesses: 3))
        try kernel.register(AgentDefinition(name: "e", handler: "echo"))
        let ids = try await kernel.spawn("e", count: 3)
        await #expect(throws: KernelError.processLimitReached(limit: 3)) { try await kernel.spawn("e") }
        try await kernel.terminate(ids[0])
        _ = try await kernel.spawn("e")
        #expect(kernel.processes().count == 3)
        await #expect(throws: KernelError.agentNotFound("ghost")) { try await kernel.spawn("ghost") }
    }

    @Test func terminateClearsMemoryUnlessPersistent() async throws {
        let kernel = makeKernel()
        try kernel.register(AgentDefinition(name: "c", handler: "counter"))
        try kernel.register(AgentDefinition(name: "keep", handler: "counter", persistentMemory: true))
        let a = try await kernel.spawn("c")
        let b = try await kernel.spawn("keep")
        _ = try await kernel.execute(a, AgentTask())
        _ = try await kernel.execute(b, AgentTask())
        try await kernel.terminate(a)
        try await kernel.terminate(b)
        #expect(try kernel.memory.get(a, "count") == nil)
        #expect(try kernel.memory.get(b, "count") == 1)
    }

    @Test func processesListsByAgentAndState() async throws {
        let kernel = makeKernel()
        try kernel.register(AgentDefinition(name: "e", handler: "echo"))
        try kernel.register(AgentDefinition(name: "c", handler: "counter"))
        let es = try await kernel.spawn("e", count: 2)
        _ = try await kernel.spawn("c")
        try await kernel.pause(es[1])
        #expect(kernel.processes(agent: "e").map(\.id) == es)
        #expect(kernel.processes(state: .paused).map(\.id) == [es[1]])
        #expect(kernel.processes().count == 3)
    }
}

@Suite("Kernel memory scoping")
struct KernelMemoryScopeTests {
    @Test func keysWrittenFromOutsideAreClearedOnTerminate() async throws {
        let kernel = makeKernel()
        try kernel.register(AgentDefinition(name: "e", handler: "echo"))
        let pid = try await kernel.spawn("e")
        try await kernel.memory.set(pid, "from-api", 1)
        try await kernel.terminate(pid)
        #expect(try kernel.memory.list(pid).isEmpty)
    }
}

@Suite("Kernel shutdown")
struct KernelShutdownTests {
    @Test func shutdownRefusesNewWorkWaitsThenCheckpointsEveryProcess() async throws {
        let gated = GatedHandler()
        let blocking = BlockingHandler()
        let kernel = makeKernel(handlers: ["gated": gated, "block": blocking])
        try kernel.register(AgentDefinition(name: "g", handler: "gated"))
        try kernel.register(AgentDefinition(name: "b", handler: "block"))
        let quick = try await kernel.spawn("g")
        let stuck = try await kernel.spawn("b")
        let finishing = Task { try await kernel.execute(quick, AgentTask()) }
        let hanging = Task { try await kernel.execute(stuck, AgentTask()) }
        #expect(await eventually { blocking.started.load(ordering: .relaxed) == 1 && gated.started.load(ordering: .relaxed) == 1 })
        let shutdown = Task { await kernel.shutdown(grace: .seconds(3)) }
        // Once new work is refused, the quick execution is let go: it finishes within the grace period.
        #expect(await eventually { !kernel.accepting.load(ordering: .relaxed) })
        gated.open()
        let saved = await shutdown.value
        #expect(try await finishing.value.output == "finished")
        await #expect(throws: KernelError.shuttingDown) { try await hanging.value }   // cancelled after it
        #expect(Set(saved.keys) == [quick, stuck])
        #expect(try kernel.readCheckpoint(try #require(saved[quick])).metadata.reason == .shutdown)
        await #expect(throws: KernelError.shuttingDown) { try await kernel.spawn("g") }
        await #expect(throws: KernelError.shuttingDown) { try await kernel.send(to: quick, payload: 1) }
    }
}

/// Runs until the test opens it, then answers "finished".
final class GatedHandler: AgentHandler {
    let started = Atomic<Int>(0)
    private let opened = Atomic<Bool>(false)
    func open() { opened.store(true, ordering: .relaxed) }
    func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
        started.add(1, ordering: .relaxed)
        while !opened.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(2)) }
        return AgentOutput("finished")
    }
}
