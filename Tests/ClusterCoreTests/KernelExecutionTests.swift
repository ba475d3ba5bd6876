import Foundation
import Testing
@testable import ClusterCore

@Suite("Kernel execution")
struct KernelExecutionTests {
    @Test func resultCarriesDurationTokensAndCost() async throws {
        let rec = RecordingHandler()
        let kernel = makeKernel(handlers: ["rec": rec])
        try kernel.register(AgentDefinition(name: "r", handler: "rec"))
        let pid = try await kernel.spawn("r")
        let r = try await kernel.execute(pid, AgentTask(input: ["tokens": 30, "cost": 0.5, "returnTokens": 12, "output": "done"]))
        #expect(r.output == "done")
        #expect(r.tokens == 42)
        #expect(r.cost == 0.5)
        #expect(r.duration > .zero)
        let p = try #require(kernel.process(pid))
        #expect(p.counters.tokens == 42 && p.counters.executions == 1)
        #expect(kernel.stats().totals.tokens == 42)
    }

    @Test func timeoutCancelsTheWorkAndKeepsTheProcess() async throws {
        let blocking = BlockingHandler()
        let kernel = makeKernel(handlers: ["block": blocking])
        try kernel.register(AgentDefinition(name: "b", handler: "block", limits: AgentLimits(executionTimeout: .milliseconds(50))))
        let pid = try await kernel.spawn("b")
        await #expect(throws: KernelError.timedOut(process: pid, after: .milliseconds(50))) {
            try await kernel.execute(pid, AgentTask())
        }
        #expect(await eventually { blocking.cancelled.load(ordering: .relaxed) == 1 })
        #expect(kernel.process(pid)?.state == .running)
    }

    @Test func tokenBudgetIsEnforced() async throws {
        let rec = RecordingHandler()
        let kernel = makeKernel(handlers: ["rec": rec])
        try kernel.register(AgentDefinition(name: "r", handler: "rec", limits: AgentLimits(tokenBudget: 100)))
        let pid = try await kernel.spawn("r")
        _ = try await kernel.execute(pid, AgentTask(input: ["tokens": 60]))
        await #expect(throws: KernelError.tokenBudgetExceeded(process: pid, used: 120, budget: 100)) {
            try await kernel.execute(pid, AgentTask(input: ["tokens": 60, "sleepMs": 10_000]))
        }
        await #expect(throws: KernelError.tokenBudgetExceeded(process: pid, used: 120, budget: 100)) {
            try await kernel.execute(pid, AgentTask(input: ["tokens": 1]))
        }
        #expect(kernel.process(pid)?.state == .running)
    }

    @Test func maxConcurrentExecutionsIsEnforced() async throws {
        let blocking = BlockingHandler()
        let kernel = makeKernel(handlers: ["block": blocking])
        try kernel.register(AgentDefinition(name: "b", handler: "block", limits: AgentLimits(maxConcurrentExecutions: 2)))
        let pid = try await kernel.spawn("b")
        let first = Task { try await kernel.execute(pid, AgentTask()) }
        let second = Task { try await kernel.execute(pid, AgentTask()) }
        #expect(await eventually { blocking.started.load(ordering: .relaxed) == 2 })
        await #expect(throws: KernelError.concurrencyLimit(process: pid, limit: 2)) {
            try await kernel.execute(pid, AgentTask())
        }
        first.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        second.cancel()
        _ = await second.result
        #expect(kernel.process(pid)?.runningExecutions == 0)
    }

    @Test func handlerErrorCrashesAndCheckpoints() async throws {
        let events = EventBus()
        let log = EventLog(events, "process.crashed")
        let kernel = makeKernel(events: events, handlers: ["fail": FailingHandler()])
        try kernel.register(AgentDefinition(name: "f", handler: "fail"))
        let pid = try await kernel.spawn("f")
        await #expect(throws: KernelError.handlerFailed(process: pid, agent: "f", message: "boom")) {
            try await kernel.execute(pid, AgentTask())
        }
        #expect(kernel.process(pid)?.state == .crashed)
        #expect(await eventually { log.contains("process.crashed", source: pid) })
        let data = try #require(try await kernel.latestCheckpoint(pid))
        let cp = try kernel.readCheckpoint(data)
        #expect(cp.metadata.reason == .crash)
        #expect(cp.state == .crashed)
        #expect(cp.memory.records.map(\.key) == ["before"])
        await #expect(throws: KernelError.notRunning(process: pid, state: .crashed)) { try await kernel.execute(pid, AgentTask()) }
        // A crashed process comes back from its crash checkpoint, paused.
        #expect(try await kernel.restore(data) == pid)
        #expect(kernel.process(pid)?.state == .paused)
    }

    @Test func inputViolationRejectsOutputViolationCrashes() async throws {
        let events = EventBus()
        let log = EventLog(events, "contract.*")
        let kernel = makeKernel(events: events)
        let contract = AgentContract(input: try JSONSchema(["type": "object"]), output: try JSONSchema(["type": "object"]))
        try kernel.register(AgentDefinition(name: "e", handler: "echo", contract: contract))
        let pid = try await kernel.spawn("e")
        await #expect(throws: ContractViolation.self) { try await kernel.execute(pid, AgentTask(input: "text")) }
        #expect(kernel.process(pid)?.state == .running)
        _ = try await kernel.execute(pid, AgentTask(input: ["ok": true]))

        try kernel.register(AgentDefinition(name: "loose", handler: "echo",
                                            contract: AgentContract(output: try JSONSchema(["type": "string"]))))
        let other = try await kernel.spawn("loose")
        do {
            _ = try await kernel.execute(other, AgentTask(input: 5))
            Issue.record("output violation was accepted")
        } catch let v as ContractViolation {
            #expect(v.phase == .output)
        }
        #expect(kernel.process(other)?.state == .crashed)
        #expect(await eventually { log.events.filter { $0.type == "contract.violated" }.count == 2 })
        let phases = log.events.compactMap { $0.data["phase"]?.stringValue }
        #expect(phases == ["input", "output"])
    }

    @Test func slaBreachesEmitEvents() async throws {
        let events = EventBus()
        let log = EventLog(events, "contract.sla.*")
        let rec = RecordingHandler()
        let kernel = makeKernel(events: events, handlers: ["rec": rec])
        try kernel.register(AgentDefinition(name: "r", handler: "rec",
                                            contract: AgentContract(maxLatency: .milliseconds(1), maxCost: 0.1)))
        let pid = try await kernel.spawn("r")
        _ = try await kernel.execute(pid, AgentTask(input: ["sleepMs": 20, "tokens": 1, "cost": 0.5]))
        #expect(await eventually { Set(log.types()) == ["contract.sla.latency", "contract.sla.cost"] })
        #expect(kernel.process(pid)?.state == .running)
    }

    @Test func contextGivesScopedAndSharedMemoryAndEvents() async throws {
        struct Writer: AgentHandler {
            func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
                try await context.memory.set("mine", task.input)
                try await context.shared.set("last", .string(context.processID))
                context.emit("custom.note", ["agent": .string(context.agent.name)])
                return AgentOutput(try context.memory.get("mine") ?? .null)
            }
        }
        let events = EventBus()
        let log = EventLog(events, "custom.note")
        let kernel = makeKernel(events: events, handlers: ["w": Writer()])
        try kernel.register(AgentDefinition(name: "w", handler: "w"))
        let pid = try await kernel.spawn("w")
        let r = try await kernel.execute(pid, AgentTask(input: 7))
        #expect(r.output == 7)
        #expect(try kernel.memory.get(pid, "mine") == 7)
        #expect(try kernel.memory.get(MemoryBus.sharedNamespace, "last") == .string(pid))
        #expect(await eventually { log.contains("custom.note", source: pid) })
    }
}

@Suite("Kernel tools")
struct KernelToolTests {
    struct Caller: AgentHandler {
        func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
            AgentOutput(try await context.callTool(task.name, arguments: task.input))
        }
    }

    @Test func handlersCallToolsAsTheirAgent() async throws {
        let events = EventBus()
        let tools = ToolRouter(events: events)
        try tools.register(ToolDefinition(name: "whoami") { _, inv in
            .object(["agent": .string(inv.caller.agent), "process": .string(inv.caller.processID ?? "")])
        })
        try tools.register(ToolDefinition(name: "wipe", permission: .admin, sideEffects: [.filesystem]) { _, _ in .null })
        try tools.register(ToolDefinition(name: "other") { _, _ in .null })
        let registry = HandlerRegistry.withBuiltIns()
        registry.register("caller", handler: Caller())
        let kernel = Kernel(config: KernelConfig(nodeID: "tl"), events: events, tools: tools, handlers: registry)
        try kernel.register(AgentDefinition(name: "a", handler: "caller", tools: ["whoami", "wipe"], permission: .read))
        let pid = try await kernel.spawn("a")
        let r = try await kernel.execute(pid, AgentTask("whoami"))
        #expect(r.output == ["agent": "a", "process": .string(pid)])
        // Denied calls fail the execution (the handler let the error out), naming the tool.
        await #expect(throws: KernelError.self) { try await kernel.execute(pid, AgentTask("wipe")) }
        let b = try await kernel.spawn("a")
        do {
            _ = try await kernel.execute(b, AgentTask("other"))
            Issue.record("a tool outside the allowlist was called")
        } catch let KernelError.handlerFailed(_, _, message) {
            #expect(message.contains("other"))
        }
        #expect(tools.stats().byToolAndAgent["whoami"]?["a"]?.calls == 1)
    }
}
