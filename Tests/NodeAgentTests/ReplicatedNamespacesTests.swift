import AgentVMTestKit
import ClusterCore
import Foundation
@testable import NodeAgent
import Synchronization
import Testing
import Transport

/// Writes and reads shared memory through its `ExecutionContext`, as any agent in the kernel does.
/// Tasks: `set` {key, value}, `incr` {key, by}, `cas` {key, expected, new}, `get` {key}.
struct SharedMemoryAgent: AgentHandler {
    func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
        let key = task.input["key"]?.stringValue ?? "k"
        switch task.name {
        case "set":
            try await context.shared.set(key, task.input["value"] ?? .null)
            return AgentOutput(.null)
        case "incr":
            return AgentOutput(.number(try await context.shared.increment(key, by: task.input["by"]?.doubleValue ?? 1)))
        case "sadd":
            return AgentOutput(.array(try await context.shared.add(key, task.input["members"]?.arrayValue ?? [])))
        case "srem":
            return AgentOutput(.array(try await context.shared.remove(key, task.input["members"]?.arrayValue ?? [])))
        case "members":
            return AgentOutput(try context.shared.members(key).map(JSONValue.array) ?? .null)
        case "cas":
            var expected: JSONValue? = task.input["expected"]
            if expected == .null { expected = nil }
            return AgentOutput(.bool(try await context.shared.compareAndSet(key, expected: expected, new: task.input["new"] ?? .null)))
        default:
            return AgentOutput(try context.shared.get(key) ?? .null)
        }
    }
}

/// Nodes in one process, each a real `Kernel` whose MemoryBus hands the replicated namespaces to a
/// real `ReplicatedMemory` (its own SQLite file) replicating over one `InProcessTransport`.
/// Membership is a table the test edits (id → gossip status).
final class KernelReplicas: Sendable {
    struct Member: Sendable {
        let kernel: Kernel
        let memory: ReplicatedMemory
        let database: SQLiteDatabase
        let process: String
    }

    let directory: TempDirectory
    let transport = InProcessTransport()
    let clock = TestWallClock()
    let namespaces: Set<String>
    let pruneAfter: Int64
    let membership = Mutex<[String: String]>([:])
    private let members = Mutex<[String: Member]>([:])

    init(namespaces: Set<String> = [], pruneAfter: Int64 = 24 * 3600 * 1000) throws {
        directory = try TempDirectory(prefix: "replicated-namespaces")
        self.namespaces = namespaces
        self.pruneAfter = pruneAfter
    }

    @discardableResult
    func start(_ id: String) async throws -> Member {
        let database = try SQLiteDatabase(path: directory.file("\(id).sqlite").path)
        var options = ReplicationOptions(cluster: "test", namespaces: namespaces, tickInterval: .milliseconds(20))
        options.replicator.antiEntropyInterval = 100
        options.replicator.resendAfter = 100
        options.pruneAfter = pruneAfter
        let memory = try await ReplicatedMemory(nodeID: id, options: options, database: database, clock: clock.function)
        let handlers = HandlerRegistry.withBuiltIns()
        handlers.register("shared-memory", handler: SharedMemoryAgent())
        let kernel = Kernel(config: KernelConfig(nodeID: id), handlers: handlers)
        kernel.memory.setReplicatedStore(memory.namespaceStore)
        try kernel.register(AgentDefinition(name: "agent", handler: "shared-memory"))
        let process = try await kernel.spawn("agent")
        membership.withLock { $0[id] = "alive" }
        try await memory.start(transport: transport, peers: { [weak self] in
            Set(self?.membership.withLock { $0.filter { $0.value == "alive" || $0.value == "suspect" }.map(\.key) } ?? [])
        })
        await memory.startPruning(members: { [weak self] in self?.membership.withLock { $0 } ?? [:] }, every: .milliseconds(20))
        let m = Member(kernel: kernel, memory: memory, database: database, process: process)
        members.withLock { $0[id] = m }
        return m
    }

    subscript(id: String) -> Member {
        get throws {
            guard let m = members.withLock({ $0[id] }) else { throw ReplicationTestError("node \(id) is not running") }
            return m
        }
    }

    /// Runs task `name` on node `id`'s agent process.
    @discardableResult
    func run(_ id: String, _ name: String, _ input: JSONValue) async throws -> JSONValue {
        let m = try self[id]
        return try await m.kernel.execute(m.process, AgentTask(name, input: input)).output
    }

    /// Stops node `id` (replication, kernel, database) and sets its membership status.
    func stop(_ id: String, status: String = "left") async {
        membership.withLock { $0[id] = status }
        guard let m = members.withLock({ $0.removeValue(forKey: id) }) else { return }
        await m.memory.stopPruning()
        await m.memory.stop()
        _ = await m.kernel.shutdown(grace: .seconds(1))
        m.database.close()
    }

    func stopAll() async {
        for id in members.withLock({ Array($0.keys) }) { await stop(id) }
        directory.remove()
    }
}

/// Processes in the kernel share the replicated namespaces across nodes: real replicas, real
/// SQLite, real kernels, over the in-process transport.
@Suite struct ReplicatedNamespacesTests {
    @Test func agentsOnTwoNodesShareTheSharedNamespace() async throws {
        let nodes = try KernelReplicas(namespaces: ["team"])
        try await nodes.start("n1")
        try await nodes.start("n2")
        let n1 = try nodes["n1"], n2 = try nodes["n2"]
        let events = n1.kernel.events.subscribe("memory.*")
        defer { events.cancel() }

        try await nodes.run("n1", "set", ["key": "greeting", "value": "hello from n1"])
        // Read-your-writes on n1 at once, through the bus and the replica alike.
        #expect(try n1.kernel.memory.get("shared", "greeting") == "hello from n1")
        #expect(try n1.memory.get("shared", "greeting") == "hello from n1")
        let seen = try await waitUntil(deadline: .seconds(20)) {
            try await nodes.run("n2", "get", ["key": "greeting"]) == "hello from n1"
        }
        #expect(seen)

        // A declared namespace is replicated too; a process's own namespace is not.
        try await n1.kernel.memory.set("team", "plan", ["step": 1])
        try await n1.kernel.memory.set(n1.process, "private", true)
        #expect(try await waitUntil(deadline: .seconds(20)) { try n2.kernel.memory.get("team", "plan") == ["step": 1] })
        #expect(try n2.kernel.memory.get(n1.process, "private") == nil)
        #expect(try n1.kernel.memory.get(n1.process, "private") == true)
        #expect(try n2.memory.list("team").map(\.key) == ["plan"])

        // Increments from both nodes are a PN-counter: the exact sum everywhere.
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for id in ["n1", "n2"] {
                tasks.addTask { for _ in 0..<10 { try await nodes.run(id, "incr", ["key": "hits", "by": 2]) } }
            }
            try await tasks.waitForAll()
        }
        #expect(try await waitUntil(deadline: .seconds(20)) {
            try n1.kernel.memory.get("shared", "hits") == 40 && n2.kernel.memory.get("shared", "hits") == 40
        })

        // compareAndSet compares against the local replica.
        #expect(try await nodes.run("n1", "cas", ["key": "leader", "expected": .null, "new": "n1"]) == true)
        #expect(try await nodes.run("n1", "cas", ["key": "leader", "expected": .null, "new": "again"]) == false)
        #expect(try await waitUntil(deadline: .seconds(20)) { try n2.kernel.memory.get("shared", "leader") == "n1" })
        #expect(try await nodes.run("n2", "cas", ["key": "leader", "expected": "n1", "new": "n2"]) == true)
        #expect(try await waitUntil(deadline: .seconds(20)) { try n1.kernel.memory.get("shared", "leader") == "n2" })

        // Deletes and clears replicate; stats and namespaces include the replicated namespaces.
        #expect(try await n2.kernel.memory.delete("team", "plan"))
        #expect(try await waitUntil(deadline: .seconds(20)) { try n1.kernel.memory.get("team", "plan") == nil })
        #expect(try n1.kernel.memory.namespaces().contains("shared"))
        #expect(!(try n1.kernel.memory.namespaces().contains("team")))
        #expect(n1.kernel.memory.stats().keys >= 3)  // greeting, hits, leader (+ private)

        // A value key cannot become a counter (a value wins every merge against a counter).
        await #expect(throws: ReplicatedMemoryError.self) {
            try await n1.kernel.memory.increment("shared", "greeting")
        }

        // The bus emitted its usual events for the writes on n1.
        var types: [String] = []
        for await e in events.events {
            types.append(e.type)
            if types.count == 3 { break }
        }
        #expect(types == ["memory.set", "memory.set", "memory.set"])
        await nodes.stopAll()
    }

    /// Agents' sets in a replicated namespace are OR-sets: adds on two nodes both land, and a
    /// remove takes only the adds its node had seen.
    @Test func agentsSetsAreORSetsAcrossNodes() async throws {
        let nodes = try KernelReplicas()
        try await nodes.start("n1")
        try await nodes.start("n2")
        _ = try await nodes.run("n1", "sadd", ["key": "tags", "members": ["red"]])
        _ = try await nodes.run("n2", "sadd", ["key": "tags", "members": ["blue"]])
        let both = try await waitUntil(deadline: .seconds(20)) {
            let one = try await nodes.run("n1", "members", ["key": "tags"])
            let two = try await nodes.run("n2", "members", ["key": "tags"])
            return one == ["blue", "red"] && two == ["blue", "red"]
        }
        #expect(both)
        _ = try await nodes.run("n2", "srem", ["key": "tags", "members": ["red"]])
        let removed = try await waitUntil(deadline: .seconds(20)) {
            try await nodes.run("n1", "members", ["key": "tags"]) == ["blue"]
        }
        #expect(removed)
        await nodes.stopAll()
    }

    @Test func restartKeepsReplicatedNamespacesAndTheirKeys() async throws {
        let nodes = try KernelReplicas(namespaces: ["team"])
        try await nodes.start("n1")
        try await nodes.run("n1", "set", ["key": "kept", "value": 1])
        try await nodes["n1"].kernel.memory.set("team", "also", 2)
        await nodes.stop("n1")
        let again = try await nodes.start("n1")
        #expect(try again.kernel.memory.get("shared", "kept") == 1)
        #expect(try again.kernel.memory.get("team", "also") == 2)
        await nodes.stopAll()
    }

    @Test func aDepartedNodeIsPrunedFromCountersAndSetsOnEveryReplica() async throws {
        let nodes = try KernelReplicas(pruneAfter: 60_000)
        for id in ["n1", "n2", "n3"] { try await nodes.start(id) }
        for id in ["n1", "n2", "n3"] { try await nodes.run(id, "incr", ["key": "hits", "by": 5]) }
        try await nodes["n3"].memory.add("shared", "tags", ["from-n3"])
        let all = try await waitUntil(deadline: .seconds(20)) {
            try ["n1", "n2"].allSatisfy {
                try nodes[$0].kernel.memory.get("shared", "hits") == 15 && nodes[$0].memory.members("shared", "tags") == ["from-n3"]
            }
        }
        #expect(all)
        // The persisted counter and set name n3 (its counter entry, its set dots).
        func storesN3(_ id: String) throws -> Bool {
            let rows = try nodes[id].database.read { conn in
                try conn.query("SELECT CAST(state AS TEXT) FROM replicated_memory WHERE key LIKE 'shared/%'") { s in s.text(0) }
            }
            return rows.contains { $0.contains("\"n3\"") }
        }
        #expect(try await waitUntil(deadline: .seconds(20)) { try storesN3("n1") && storesN3("n2") })
        await nodes.stop("n3", status: "dead")
        // Down, but not for `pruneAfter` yet: nothing is pruned.
        try await Task.sleep(for: .milliseconds(200))
        #expect(try nodes["n1"].memory.prunedReplicas.isEmpty)
        nodes.clock.advance(60_000)
        let pruned = try await waitUntil(deadline: .seconds(20)) {
            try nodes["n1"].memory.prunedReplicas == ["n3"] && nodes["n2"].memory.prunedReplicas == ["n3"]
        }
        #expect(pruned)
        // The total and the set survive the collapse of n3's entries, and settle on both.
        let settled = try await waitUntil(deadline: .seconds(20)) {
            try ["n1", "n2"].allSatisfy {
                try nodes[$0].kernel.memory.get("shared", "hits") == 15 && nodes[$0].memory.members("shared", "tags") == ["from-n3"]
            }
        }
        #expect(settled)
        // No persisted state names n3 any more.
        #expect(try await waitUntil(deadline: .seconds(20)) { try !storesN3("n1") && !storesN3("n2") })
        // A node that joins later learns the decision from the replicated `__pruned` set.
        let late = try await nodes.start("n4")
        #expect(await waitUntil(deadline: .seconds(20)) { late.memory.prunedReplicas == ["n3"] })
        #expect(try await waitUntil(deadline: .seconds(20)) { try late.kernel.memory.get("shared", "hits") == 15 })
        await nodes.stopAll()
    }

    @Test func aMemberSeenDownIsStillPrunedAfterARestartThatForgotIt() async throws {
        let nodes = try KernelReplicas(pruneAfter: 60_000)
        let n1 = try await nodes.start("n1")
        nodes.membership.withLock { $0["gone"] = "dead" }
        let recorded = try await waitUntil(deadline: .seconds(20)) {
            try n1.database.read { conn in
                try conn.queryFirst("SELECT down_since FROM replicated_memory_departed WHERE replica = 'gone'") { s in s.int64(0) }
            } == nodes.clock.now
        }
        #expect(recorded)
        await nodes.stop("n1")
        // After the restart gossip no longer knows the member; the persisted record still counts.
        nodes.membership.withLock { $0["gone"] = nil }
        let again = try await nodes.start("n1")
        nodes.clock.advance(60_000)
        #expect(await waitUntil(deadline: .seconds(20)) { again.memory.prunedReplicas == ["gone"] })
        await nodes.stopAll()
    }

    @Test func namespacesThatWouldCollideAreRefused() async throws {
        let dir = try TempDirectory(prefix: "replicated-namespaces")
        defer { dir.remove() }
        let db = try SQLiteDatabase(path: dir.file("n.sqlite").path)
        defer { db.close() }
        for bad in ["a/b", "__x", ""] {
            await #expect(throws: ReplicatedMemoryError.invalidNamespace(bad)) {
                _ = try await ReplicatedMemory(nodeID: "n", options: ReplicationOptions(cluster: "t", namespaces: [bad]), database: db)
            }
        }
    }

    @Test func theMemberTrackerPrunesOnlyMembersDownLongEnough() {
        var t = RemovedMemberTracker()
        func observe(_ m: [String: String], _ now: Int64) -> [String] { t.observe(m, now: now, after: 1_000, me: "me") }
        #expect(observe(["a": "alive", "b": "dead", "c": "left", "me": "dead"], 0).isEmpty)
        // b comes back, so its clock restarts; c is dropped from the table (removed) but still counts.
        #expect(observe(["a": "alive", "b": "alive"], 500).isEmpty)
        #expect(observe(["b": "dead"], 1_000) == ["c"])
        #expect(observe(["b": "dead"], 1_999).isEmpty)
        #expect(observe([:], 2_000) == ["b"])
        // Each id is returned once; this node itself never.
        #expect(observe([:], 9_000).isEmpty)
    }
}
