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

    /// Adds `input.add`, removes `input.remove` in the set `input.key` of `shared`; answers the members.
    struct SetWriter: AgentHandler {
        func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
            let key = task.input["key"]?.stringValue ?? "s"
            if let add = task.input["add"]?.arrayValue { try await context.shared.add(key, add) }
            if let remove = task.input["remove"]?.arrayValue { try await context.shared.remove(key, remove) }
            return AgentOutput(try context.shared.members(key).map(JSONValue.array) ?? .null)
        }
    }

    @Test func setsThroughTheContextOnALocalBus() async throws {
        let kernel = makeKernel(handlers: ["sets": SetWriter()])
        try kernel.register(AgentDefinition(name: "s", handler: "sets"))
        let pid = try await kernel.spawn("s")
        let added = try await kernel.execute(pid, AgentTask(input: ["key": "tags", "add": ["b", "a", "b"]]))
        #expect(added.output == ["a", "b"])
        let removed = try await kernel.execute(pid, AgentTask(input: ["key": "tags", "add": ["c"], "remove": ["a"]]))
        #expect(removed.output == ["b", "c"])
        #expect(try kernel.memory.members(MemoryBus.sharedNamespace, "tags") == ["b", "c"])

        // Many adders at once: compare-and-set keeps every member.
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<20 { group.addTask { _ = try? await kernel.memory.addMembers("shared", "many", [.number(Double(i))]) } }
        }
        #expect(try kernel.memory.members("shared", "many")?.count == 20)

        try await kernel.memory.set("shared", "plain", "text")
        await #expect(throws: MemoryError.notASet(key: "plain", holds: "string")) {
            _ = try await kernel.memory.addMembers("shared", "plain", ["x"])
        }
    }

    @Test func theRefusalNamesTheNamespace() {
        let message = MemoryError.namespaceClosed("notes").description
        #expect(message.contains("'notes'") && message.contains("memory.replicated"))
    }
}
