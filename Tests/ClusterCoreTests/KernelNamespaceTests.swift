import Testing
@testable import ClusterCore

/// `ExecutionContext.namespace`: a process opens its own namespace, `shared` and the common ones by
/// name; another process's namespace stays closed.
@Suite("Kernel namespaces")
struct KernelNamespaceTests {
    /// Writes `input.value` under `input.key` in `input.namespace` and answers what it reads back.
    struct NamedWriter: AgentHandler {
        func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
            let space = try context.namespace(task.input["namespace"]?.stringValue ?? "")
            let key = task.input["key"]?.stringValue ?? "k"
            try await space.set(key, task.input["value"] ?? .null)
            return AgentOutput(try space.get(key) ?? .null)
        }
    }

    @Test func commonNamespacesOpenOthersStayClosed() async throws {
        let kernel = makeKernel(handlers: ["named": NamedWriter()])
        kernel.memory.setCommonNamespaces(["team"])
        try kernel.register(AgentDefinition(name: "n", handler: "named"))
        let a = try await kernel.spawn("n")
        let b = try await kernel.spawn("n")

        let team = try await kernel.execute(a, AgentTask(input: ["namespace": "team", "key": "plan", "value": 1]))
        #expect(team.output == 1)
        #expect(try kernel.memory.get("team", "plan") == 1)
        _ = try await kernel.execute(a, AgentTask(input: ["namespace": "shared", "key": "s", "value": 2]))
        #expect(try kernel.memory.get(MemoryBus.sharedNamespace, "s") == 2)
        _ = try await kernel.execute(a, AgentTask(input: ["namespace": .string(a), "key": "own", "value": 3]))
        #expect(try kernel.memory.get(a, "own") == 3)

        // Another process's namespace, and an undeclared one: refused before anything is written.
        // (A handler error crashes the process, so each refusal runs on its own process.)
        await #expect(throws: (any Error).self) {
            _ = try await kernel.execute(a, AgentTask(input: ["namespace": .string(b), "key": "x", "value": 4]))
        }
        #expect(try kernel.memory.get(b, "x") == nil)
        await #expect(throws: (any Error).self) {
            _ = try await kernel.execute(b, AgentTask(input: ["namespace": "notes", "key": "x", "value": 5]))
        }
        #expect(try kernel.memory.get("notes", "x") == nil)
        #expect(!kernel.memory.isCommon("notes"))
        #expect(kernel.memory.isCommon("team") && kernel.memory.isCommon(MemoryBus.sharedNamespace))
    }

    @Test func theRefusalNamesTheNamespace() {
        let message = MemoryError.namespaceClosed("notes").description
        #expect(message.contains("'notes'") && message.contains("memory.replicated"))
    }
}
