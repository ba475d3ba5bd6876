import Foundation
import Testing
@testable import ClusterCore

@Suite("Kernel agents and handlers")
struct KernelAgentTests {
    @Test func definitionFromJSONNamesItsHandlerAndGetsDefaults() async throws {
        let text = #"{"name": "tally", "handler": "counter", "config": {"key": "hits"}, "capabilities": ["count"], "tools": ["clock"], "permission": "write", "persistentMemory": true, "limits": {"executionTimeout": 1.5, "tokenBudget": 100, "maxConcurrentExecutions": 2}}"#
        let def = try JSONDecoder().decode(AgentDefinition.self, from: Data(text.utf8))
        #expect(def.handler == "counter")
        #expect(def.tools == ["clock"])
        #expect(def.permission == .write)
        #expect(def.limits.executionTimeout == .milliseconds(1500))
        #expect(def.limits.tokenBudget == 100)
        #expect(def.persistentMemory)
        let minimal = try JSONDecoder().decode(AgentDefinition.self, from: Data(#"{"name":"e","handler":"echo"}"#.utf8))
        #expect(minimal.limits.maxConcurrentExecutions == 1)
        #expect(minimal.tools == nil)
        // Round trip.
        let again = try JSONDecoder().decode(AgentDefinition.self, from: JSONEncoder().encode(def))
        #expect(again == def)

        let kernel = makeKernel()
        try kernel.register(def)
        let pid = try await kernel.spawn("tally")
        let r = try await kernel.execute(pid, AgentTask(input: ["by": 2]))
        #expect(r.output == ["count": 2])
        #expect(try kernel.memory.get(pid, "hits") == 2)
    }

    @Test func badDefinitionsAreRefusedWithTheField() throws {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(AgentDefinition.self, from: Data(#"{"name":"x"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(AgentDefinition.self, from: Data(#"{"name":"x","handler":"echo","limits":{"maxConcurrentExecutions":0}}"#.utf8))
        }
        let kernel = makeKernel()
        #expect(throws: KernelError.handlerNotFound(handler: "nope", agent: "x")) {
            try kernel.register(AgentDefinition(name: "x", handler: "nope"))
        }
        try kernel.register(AgentDefinition(name: "x", handler: "echo"))
        try kernel.register(AgentDefinition(name: "x", handler: "echo"))   // same again: no-op
        #expect(throws: KernelError.agentExists("x")) {
            try kernel.register(AgentDefinition(name: "x", handler: "counter"))
        }
        try kernel.register(AgentDefinition(name: "x", handler: "counter"), replace: true)
        #expect(kernel.agent(named: "x")?.handler == "counter")
    }

    @Test func echoReturnsItsInputAndCounterCounts() async throws {
        let kernel = makeKernel()
        try kernel.register(AgentDefinition(name: "echo", handler: "echo"))
        try kernel.register(AgentDefinition(name: "counter", handler: "counter"))
        let e = try await kernel.spawn("echo")
        let r = try await kernel.execute(e, AgentTask("say", input: ["hello": [1, 2]]))
        #expect(r.output == ["hello": [1, 2]])
        #expect(r.processID == e)
        #expect(r.task == "say")
        let c = try await kernel.spawn("counter")
        for n in 1...3 {
            let out = try await kernel.execute(c, AgentTask())
            #expect(out.output["count"] == .number(Double(n)))
        }
        try await kernel.send(to: c, payload: "tick")
        #expect(await eventually { (try? kernel.memory.get(c, "count")) == 4 })
    }

    @Test func handlerRegistryBindsNamesToFactories() throws {
        let registry = HandlerRegistry()
        #expect(registry.names.isEmpty)
        registry.register("custom") { def in
            guard def.config["ok"] == true else { throw KernelError.invalidAgent(agent: def.name, reason: "config.ok must be true") }
            return EchoHandler()
        }
        #expect(registry.contains("custom"))
        let kernel = Kernel(config: KernelConfig(nodeID: "h"), handlers: registry)
        #expect(throws: KernelError.self) { try kernel.register(AgentDefinition(name: "a", handler: "custom")) }
        try kernel.register(AgentDefinition(name: "b", handler: "custom", config: ["ok": true]))
        #expect(kernel.agents.map(\.name) == ["b"])
        #expect(HandlerRegistry.withBuiltIns().names == ["counter", "echo"])
    }
}
