import AgentVMTestKit
import ClusterCore
import Foundation
import NodeAgent
import Testing
import Transport

/// ReplicatedMemory replicas in one process: real SQLite files, the replication shell over a
/// transport, real ticks.
@Suite struct ReplicatedMemoryTests {
    @Test func threeReplicasConvergeOverInProcessTransport() async throws {
        let group = try ReplicaGroup(count: 3, transport: InProcessTransport())
        defer { group.directory.remove() }
        try await group.startAll()
        try await group["n1"].set("shared", "greeting", "hello")
        try await group["n2"].set("shared", "answer", 42)
        try await group["n3"].set("shared", "list", [1, 2, 3])
        let ok = try await group.converged { $0.count == 3 }
        #expect(ok)
        #expect(try group["n3"].get("shared", "greeting") == "hello")
        #expect(try group["n1"].get("shared", "list") == [1, 2, 3])
        await group.stopAll()
    }

    @Test func convergesUnderLossAndAfterAPartitionHeals() async throws {
        let lossy = LossyTransport(inner: InProcessTransport(), seed: 7, loss: 0.2)
        let group = try ReplicaGroup(count: 3, transport: lossy)
        defer { group.directory.remove() }
        try await group.startAll()
        lossy.partition(["n3"], from: ["n1", "n2"])
        for i in 0..<50 {
            try await group["n1"].set("shared", "a\(i)", .number(Double(i)))
            try await group["n3"].set("shared", "b\(i)", .number(Double(i)))
        }
        try await group["n1"].set("shared", "both", "from n1")
        group.clock.advance(5)
        try await group["n3"].set("shared", "both", "from n3")
        // While cut off, n3 holds only its own side.
        #expect(try group["n3"].get("shared", "a0") == nil)
        lossy.heal()
        let ok = try await group.converged { $0.count == 101 }
        #expect(ok)
        // The later write (by hybrid logical clock) wins on every replica.
        for id in group.ids { #expect(try group[id].get("shared", "both") == "from n3") }
        await group.stopAll()
    }

    @Test func concurrentIncrementsConvergeToTheExactSum() async throws {
        let lossy = LossyTransport(inner: InProcessTransport(), seed: 11, loss: 0.1)
        let group = try ReplicaGroup(count: 3, transport: lossy)
        defer { group.directory.remove() }
        try await group.startAll()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for (n, id) in group.ids.enumerated() {
                let m = try group[id]
                tasks.addTask {
                    for _ in 0..<40 { try await m.increment("shared", "hits", by: Double(n + 1)) }
                    try await m.increment("shared", "hits", by: -1)
                }
            }
            try await tasks.waitForAll()
        }
        // 40 × (1 + 2 + 3) − 3
        let ok = try await group.converged { $0 == [["hits", 237]] }
        #expect(ok)
        await group.stopAll()
    }

    @Test func setsAreAddWinsAndConverge() async throws {
        let lossy = LossyTransport(inner: InProcessTransport(), seed: 3, loss: 0)
        let group = try ReplicaGroup(count: 3, transport: lossy)
        defer { group.directory.remove() }
        try await group.startAll()
        try await group["n1"].add("shared", "tags", ["a", "b"])
        #expect(try await group.converged { $0 == [["tags", ["a", "b"]]] })
        lossy.partition(["n1"], from: ["n2", "n3"])
        try await group["n1"].remove("shared", "tags", ["a"])
        try await group["n2"].add("shared", "tags", ["a", "c"])
        lossy.heal()
        // n2's concurrent add of "a" survives n1's remove.
        #expect(try await group.converged { $0 == [["tags", ["a", "b", "c"]]] })
        #expect(try group["n3"].members("shared", "tags") == ["a", "b", "c"])
        await group.stopAll()
    }

    @Test func concurrentSetAndDeleteResolveByTimestamp() async throws {
        let lossy = LossyTransport(inner: InProcessTransport(), seed: 5, loss: 0)
        let group = try ReplicaGroup(count: 3, transport: lossy)
        defer { group.directory.remove() }
        try await group.startAll()
        try await group["n1"].set("shared", "k1", "v")
        try await group["n1"].set("shared", "k2", "v")
        #expect(try await group.converged { $0.count == 2 })
        lossy.partition(["n1"], from: ["n2", "n3"])
        // k1: the delete is later, so it wins; k2: the set is later, so it wins.
        try await group["n2"].set("shared", "k1", "newer set")
        try await group["n2"].delete("shared", "k2")
        group.clock.advance(10)
        try await group["n1"].delete("shared", "k1")
        try await group["n1"].set("shared", "k2", "newest")
        lossy.heal()
        #expect(try await group.converged { $0 == [["k2", "newest"]] })
        // A delete stays deleted: a stale copy of the old value arriving later changes nothing.
        try await group["n3"].set("shared", "k3", "x")
        #expect(try await group.converged { $0.count == 2 })
        #expect(try await group["n1"].delete("shared", "k3"))
        #expect(try await group.converged { $0 == [["k2", "newest"]] })
        await group.stopAll()
    }

    @Test func ttlExpiresAtTheSameInstantOnEveryReplica() async throws {
        let group = try ReplicaGroup(count: 3, transport: InProcessTransport())
        defer { group.directory.remove() }
        try await group.startAll()
        try await group["n1"].set("shared", "session", "s1", ttl: .seconds(60))
        try await group["n1"].set("shared", "kept", "k")
        #expect(try await group.converged { $0.count == 2 })
        let expiries = try group.ids.map { try group[$0].entry("shared", "session")?.expiresAt }
        #expect(Set(expiries).count == 1 && expiries[0] != nil)
        group.clock.advance(59_999)
        for id in group.ids { #expect(try group[id].get("shared", "session") == "s1") }
        group.clock.advance(1)
        for id in group.ids { #expect(try group[id].get("shared", "session") == nil) }
        // Garbage collection turns the expired value into a marker on each replica: still converged.
        #expect(try await group.converged { $0 == [["kept", "k"]] })
        await group.stopAll()
    }

    @Test func restartRecoversFromSQLiteThenCatchesUp() async throws {
        let group = try ReplicaGroup(count: 3, transport: InProcessTransport())
        defer { group.directory.remove() }
        try await group.startAll()
        try await group["n3"].set("shared", "before", "b")
        try await group["n3"].increment("shared", "count", by: 5)
        #expect(try await group.converged { $0.count == 2 })
        await group.stop("n3")
        try await group["n1"].set("shared", "during", "d")
        try await group["n2"].increment("shared", "count", by: 2)
        // Restarted with no peers reachable yet: the local state comes from SQLite alone.
        let alone = ReplicaGroup.options()
        let db = try SQLiteDatabase(path: group.directory.file("n3.sqlite").path)
        let offline = try await ReplicatedMemory(nodeID: "n3", options: alone, database: db, clock: group.clock.function)
        #expect(try offline.get("shared", "before") == "b")
        #expect(try offline.get("shared", "count") == 5)
        db.close()
        // Started for real, it catches up.
        try await group.start("n3")
        #expect(try await group.converged { $0 == [["before", "b"], ["count", 7], ["during", "d"]] })
        await group.stopAll()
    }

    @Test func malformedBytesAreRejectedAndCounted() async throws {
        let transport = InProcessTransport()
        let group = try ReplicaGroup(count: 2, transport: transport)
        defer { group.directory.remove() }
        try await group.startAll()
        let subject = ReplicatedMemory.subject(cluster: "test", to: "n1", from: "n2")
        try transport.publish(subject, payload: Data("not json".utf8))
        try transport.publish(subject, payload: Data(#"{"version": 99}"#.utf8))
        let n1 = try group["n1"]
        #expect(await waitUntil { await n1.stats().rejected.values.reduce(0, +) == 2 })
        #expect(await n1.stats().rejected["unsupported_version"] == 1)
        try await n1.set("shared", "still", "works")
        #expect(try await group.converged { $0.count == 1 })
        await group.stopAll()
    }

    @Test func kindsAreKeptPerKey() async throws {
        let group = try ReplicaGroup(count: 1, transport: InProcessTransport())
        defer { group.directory.remove() }
        let m = try await group.start("n1")
        try await m.set("shared", "plain", 1)
        await #expect(throws: ReplicatedMemoryError.self) { try await m.increment("shared", "plain") }
        try await m.increment("shared", "c")
        await #expect(throws: ReplicatedMemoryError.self) { try await m.add("shared", "c", ["x"]) }
        await #expect(throws: ReplicatedMemoryError.self) { try await m.increment("shared", "c", by: 0.5) }
        await #expect(throws: MemoryError.self) { try await m.set("shared", "__kernel", 1) }
        await #expect(throws: ReplicatedMemoryError.self) { try await m.set("proc-1", "k", 1) }
        #expect(try await m.delete("shared", "c"))
        #expect(try m.get("shared", "c") == nil)
        await group.stopAll()
    }
}

@Suite struct ReplicatedPruningDecisionTests {
    /// A pruning decision taken by one replica is carried out by the others as soon as it arrives
    /// (not by their pruning loop later), so it is persisted in the same transaction as the values
    /// it prunes and a restart cannot find the one without the other.
    @Test func aPruningDecisionFromAPeerIsCarriedOutWhenItArrives() async throws {
        let transport = InProcessTransport()
        let directory = try TempDirectory(prefix: "pruning-decision")
        defer { directory.remove() }
        let clock = TestWallClock()
        var options = ReplicaGroup.options()
        options.pruneAfter = 1_000
        var replicas: [(ReplicatedMemory, SQLiteDatabase)] = []
        for id in ["n1", "n2"] {
            let db = try SQLiteDatabase(path: directory.file("\(id).sqlite").path)
            let memory = try await ReplicatedMemory(nodeID: id, options: options, database: db, clock: clock.function)
            try await memory.start(transport: transport, peers: { ["n1", "n2"] })
            replicas.append((memory, db))
        }
        let (decider, other) = (replicas[0].0, replicas[1].0)
        try await other.increment("shared", "hits", by: 2)
        #expect(try await waitUntil(deadline: .seconds(20)) { try decider.entry("shared", "hits")?.value == 2 })
        // Only n1 watches membership; n3 has been dead longer than `pruneAfter` once the clock moves.
        await decider.startPruning(members: { ["n1": "alive", "n2": "alive", "n3": "dead"] }, every: .milliseconds(20))
        #expect(await waitUntil(deadline: .seconds(20)) {
            clock.advance(500)
            return decider.prunedReplicas == ["n3"]
        })
        #expect(await waitUntil(deadline: .seconds(20)) { other.prunedReplicas == ["n3"] })
        #expect(try other.entry("shared", "hits")?.value == 2)
        await decider.stopPruning()
        for (memory, db) in replicas {
            await memory.stop()
            db.close()
        }
    }
}
