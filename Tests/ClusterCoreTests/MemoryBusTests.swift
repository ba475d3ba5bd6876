import Foundation
import Testing
@testable import ClusterCore

@Suite("MemoryBus")
struct MemoryBusTests {
    @Test(arguments: MemoryBackendKind.allCases)
    func setGetDeleteListClear(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        let bus = f.bus
        try await bus.set("p1", "b", ["x": 1, "y": [true, nil, "s"]])
        try await bus.set("p1", "a", "alpha")
        try await bus.set("p1", "ab", 2.5)
        try await bus.set(MemoryBus.sharedNamespace, "a", "shared")
        #expect(try bus.get("p1", "a") == "alpha")
        #expect(try bus.get("p1", "b") == ["x": 1, "y": [true, nil, "s"]])
        #expect(try bus.get("p1", "missing") == nil)
        #expect(try bus.get("shared", "a") == "shared")
        #expect(try bus.list("p1").map(\.key) == ["a", "ab", "b"])
        #expect(try bus.list("p1", prefix: "a").map(\.key) == ["a", "ab"])
        #expect(try bus.list("p1", prefix: "ab").map(\.entry.value) == [2.5])
        #expect(try bus.list("p1", prefix: "z").isEmpty)
        #expect(try bus.namespaces() == ["p1", "shared"])

        try await bus.set("p1", "a", "again")
        #expect(try bus.get("p1", "a") == "again")
        #expect(try await bus.delete("p1", "a"))
        #expect(try await bus.delete("p1", "a") == false)
        #expect(try bus.get("p1", "a") == nil)
        try await bus.clear("p1")
        #expect(try bus.list("p1").isEmpty)
        #expect(try bus.namespaces() == ["shared"])
        let stats = bus.stats()
        #expect(stats.namespaces == 1)
        #expect(stats.keys == 1)
        #expect(stats.writes == 7)
        #expect(stats.reads >= 9)
    }

    @Test(arguments: MemoryBackendKind.allCases)
    func ttlExpiresOnReadAndBySweep(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        let bus = f.bus
        try await bus.set("p", "short", "s", ttl: .seconds(10))
        try await bus.set("p", "long", "l", ttl: .seconds(100))
        try await bus.set("p", "forever", "f")
        let entry = try bus.entry("p", "short")
        #expect(entry?.expiresAt == f.clock.now.addingTimeInterval(10))
        f.clock.advance(seconds: 9.9)
        #expect(try bus.get("p", "short") == "s")
        f.clock.advance(seconds: 0.1)
        #expect(try bus.get("p", "short") == nil)  // exactly at expiresAt it is gone
        #expect(try bus.list("p").map(\.key) == ["forever", "long"])
        #expect(bus.stats().keys == 3)  // still stored until swept
        #expect(try await bus.sweepExpired() == 1)
        #expect(bus.stats().keys == 2)
        #expect(bus.stats().expired == 1)
        f.clock.advance(seconds: 1000)
        #expect(try await bus.sweepExpired() == 1)
        #expect(try bus.list("p").map(\.key) == ["forever"])
        let expired = await f.events(count: 5).filter { $0.type == "memory.expired" }
        #expect(expired.map { $0.data["key"] } == ["short", "long"])
        #expect(expired.first?.data["namespace"] == "p")
        #expect(expired.first?.source == "memory")
    }

    @Test(arguments: MemoryBackendKind.allCases)
    func sweeperTaskExpiresOnItsOwn(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        try await f.bus.set("p", "k", 1, ttl: .seconds(5))
        f.bus.startSweeper(interval: .milliseconds(5))
        f.bus.startSweeper(interval: .milliseconds(5))  // idempotent
        f.clock.advance(seconds: 5)
        let events = await f.events(count: 2)
        #expect(events.map(\.type) == ["memory.set", "memory.expired"])
        #expect(f.bus.stats().keys == 0)
        f.bus.stopSweeper()
    }

    @Test(arguments: MemoryBackendKind.allCases)
    func incrementIsAtomicAndKeepsTTL(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        let bus = f.bus
        #expect(try await bus.increment("p", "n") == 1)
        #expect(try await bus.increment("p", "n", by: 2.5) == 3.5)
        #expect(try await bus.increment("p", "n", by: -0.5) == 3)
        try await bus.set("p", "s", "text")
        await #expect(throws: MemoryError.notANumber(key: "s")) { try await bus.increment("p", "s") }
        #expect(try bus.get("p", "s") == "text")

        try await bus.set("p", "ttl", 10, ttl: .seconds(30))
        #expect(try await bus.increment("p", "ttl") == 11)
        #expect(try bus.entry("p", "ttl")?.expiresAt == f.clock.now.addingTimeInterval(30))
        f.clock.advance(seconds: 30)
        #expect(try await bus.increment("p", "ttl") == 1)  // expired counts as absent
        #expect(try bus.entry("p", "ttl")?.expiresAt == nil)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask { for _ in 0..<25 { try await bus.increment("shared", "counter") } }
            }
            try await group.waitForAll()
        }
        #expect(try bus.get("shared", "counter") == 400)
    }

    @Test(arguments: MemoryBackendKind.allCases)
    func compareAndSet(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        let bus = f.bus
        #expect(try await bus.compareAndSet("p", "k", expected: nil, new: "v1"))
        #expect(try await bus.compareAndSet("p", "k", expected: nil, new: "v2") == false)
        #expect(try await bus.compareAndSet("p", "k", expected: "nope", new: "v2") == false)
        #expect(try bus.get("p", "k") == "v1")
        #expect(try await bus.compareAndSet("p", "k", expected: "v1", new: ["n": 1], ttl: .seconds(1)))
        #expect(try bus.get("p", "k") == ["n": 1])
        f.clock.advance(seconds: 1)
        #expect(try await bus.compareAndSet("p", "k", expected: ["n": 1], new: "late") == false)
        #expect(try await bus.compareAndSet("p", "k", expected: nil, new: "fresh"))
        #expect(try bus.entry("p", "k")?.expiresAt == nil)

        // Exactly one of many racing claimers wins.
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<16 {
                group.addTask { try await bus.compareAndSet("shared", "leader", expected: nil, new: .number(Double(i))) }
            }
            var n = 0
            for try await won in group where won { n += 1 }
            return n
        }
        #expect(wins == 1)
    }

    @Test(arguments: MemoryBackendKind.allCases)
    func reservedKeysAreKernelOnly(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        let bus = f.bus
        await #expect(throws: MemoryError.reservedKey("__state")) { try await bus.set("p", "__state", 1) }
        await #expect(throws: MemoryError.reservedKey("__state")) { try await bus.increment("p", "__state") }
        await #expect(throws: MemoryError.reservedKey("__state")) { try await bus.delete("p", "__state") }
        await #expect(throws: MemoryError.reservedKey("__state")) {
            try await bus.compareAndSet("p", "__state", expected: nil, new: 1)
        }
        try await bus.setReserved("p", "__state", "kernel")
        #expect(try bus.get("p", "__state") == "kernel")
        try await bus.set("p", "_single", 1)  // one underscore is an ordinary key
        #expect(try bus.list("p").map(\.key) == ["__state", "_single"])
    }

    @Test(arguments: MemoryBackendKind.allCases)
    func invalidInputGetsClearErrors(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        let bus = f.bus
        await #expect(throws: MemoryError.self) { try await bus.set("", "k", 1) }
        await #expect(throws: MemoryError.self) { try await bus.set("p", "", 1) }
        #expect(throws: MemoryError.self) { try bus.get("p", String(repeating: "k", count: 2000)) }
        await #expect(throws: MemoryError.invalidTTL("0.0 seconds (must be positive)")) { try await bus.set("p", "k", 1, ttl: .zero) }
        await #expect(throws: MemoryError.self) { try await bus.set("p", "k", 1, ttl: .seconds(-1)) }
        #expect(try bus.get("p", "k") == nil)
        #expect("\(MemoryError.reservedKey("__x"))".contains("'__x'"))
    }

    @Test(arguments: MemoryBackendKind.allCases)
    func restoreReplacesTheNamespace(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        let bus = f.bus
        try await bus.set("p", "old", 1)
        try await bus.set("q", "other", 2)
        let now = f.clock.now
        let records = [
            MemoryRecord(key: "a", entry: MemoryEntry(value: "A", expiresAt: now.addingTimeInterval(60), updatedAt: now)),
            MemoryRecord(key: "__pid", entry: MemoryEntry(value: "p", updatedAt: now)),
            MemoryRecord(key: "dead", entry: MemoryEntry(value: 0, expiresAt: now, updatedAt: now)),
        ]
        try await bus.restore("p", records: records)
        #expect(try bus.list("p") == [records[1], records[0]])
        #expect(try bus.get("p", "old") == nil)
        #expect(try bus.get("q", "other") == 2)
        #expect(bus.stats().keys == 3)
        // A checkpoint round trip through JSON keeps the TTL.
        let data = try JSONEncoder().encode(try bus.list("p"))
        let decoded = try JSONDecoder().decode([MemoryRecord].self, from: data)
        try await bus.restore("p2", records: decoded)
        #expect(try bus.entry("p2", "a")?.expiresAt == now.addingTimeInterval(60))
    }

    @Test(arguments: MemoryBackendKind.allCases)
    func writesEmitEvents(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        let bus = f.bus
        try await bus.set("p", "k", 1)
        _ = try await bus.increment("p", "k")
        _ = try await bus.compareAndSet("p", "k", expected: 0, new: 5)  // fails: no event
        _ = try await bus.delete("p", "k")
        _ = try await bus.delete("p", "k")  // nothing removed: no event
        try await bus.set("p", "j", 1)
        try await bus.clear("p")
        let events = await f.events(count: 5)
        #expect(events.map(\.type) == ["memory.set", "memory.set", "memory.deleted", "memory.set", "memory.cleared"])
        #expect(events[2].data == ["namespace": "p", "key": "k"])
        #expect(events[4].data == ["namespace": "p", "count": 1])
    }
}

@Suite("MemorySQLiteBackend")
struct MemorySQLiteBackendTests {
    @Test func writesAreDurableWhenTheCallReturns() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let path = dir.path("memory.db")
        let clock = MemoryManualClock()
        let backend = try SQLiteBackend(path: path)
        let bus = MemoryBus(backend: backend, events: EventBus(), clock: clock.function)
        try await bus.set("p", "k", ["deep": [1, 2, 3]], ttl: .seconds(60))
        _ = try await bus.increment("shared", "n", by: 41)
        // A second backend on the same file, the first never closed: as after a crash.
        let other = MemoryBus(backend: try SQLiteBackend(path: path), events: EventBus(), clock: clock.function)
        #expect(try other.get("p", "k") == ["deep": [1, 2, 3]])
        #expect(try other.entry("p", "k")?.expiresAt == clock.now.addingTimeInterval(60))
        #expect(try other.get("shared", "n") == 41)
        clock.advance(seconds: 60)
        #expect(try other.get("p", "k") == nil)
        withExtendedLifetime(backend) {}
    }

    @Test func manyConcurrentSetsShareCommits() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let backend = try SQLiteBackend(path: dir.path("memory.db"))
        defer { backend.close() }
        let bus = MemoryBus(backend: backend, events: EventBus())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<16 {
                group.addTask { for i in 0..<10 { try await bus.set("w\(w)", "k\(i)", .number(Double(i))) } }
            }
            try await group.waitForAll()
        }
        #expect(bus.stats().keys == 160)
        #expect(bus.stats().namespaces == 16)
        #expect(backend.database.writeStats.writes >= 160)
    }

    @Test func aCorruptRowIsReportedWithItsKey() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let backend = try SQLiteBackend(path: dir.path("memory.db"))
        defer { backend.close() }
        try await backend.database.write {
            try $0.execute("INSERT INTO memory (namespace, key, value, updated_at) VALUES ('p', 'bad', '{not json', 0)")
        }
        let bus = MemoryBus(backend: backend, events: EventBus())
        do {
            _ = try bus.get("p", "bad")
            Issue.record("a corrupt row must not decode")
        } catch let e as MemoryError {
            #expect("\(e)".contains("'bad'"))
        }
    }

    @Test func closedBackendThrowsClosed() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let backend = try SQLiteBackend(path: dir.path("memory.db"))
        let bus = MemoryBus(backend: backend, events: EventBus())
        backend.close()
        await #expect(throws: MemoryError.closed) { try await bus.set("p", "k", 1) }
        #expect(throws: MemoryError.closed) { try bus.get("p", "k") }
        #expect(bus.stats().keys == 0)
    }

    @Test func sharesADatabaseWithOtherTables() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("node.db"), schema: "CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, entry TEXT);")
        defer { db.close() }
        let bus = MemoryBus(backend: try SQLiteBackend(database: db), events: EventBus())
        try await bus.set("p", "k", "v")
        try await db.write { try $0.execute("INSERT INTO journal (entry) VALUES ('spawned p')") }
        let reopened = MemoryBus(backend: try SQLiteBackend(path: dir.path("node.db")), events: EventBus())
        #expect(try reopened.get("p", "k") == "v")
    }

    @Test func unopenablePathIsABackendError() throws {
        #expect(throws: MemoryError.self) { try SQLiteBackend(path: "/nonexistent-agentvm-dir/x/memory.db") }
    }
}

/// A `ReplicatedNamespaceStore` over a second bus and backend: real storage standing in for the
/// node's CRDT replica (which ClusterCore cannot depend on; NodeAgentTests run the real one).
struct NamespacesOnAnotherBus: ReplicatedNamespaceStore {
    let bus: MemoryBus
    let held: Set<String>

    func holds(_ namespace: String) -> Bool { held.contains(namespace) }
    func entry(_ namespace: String, _ key: String) throws -> MemoryEntry? { try bus.entry(namespace, key) }
    func records(_ namespace: String, prefix: String) throws -> [MemoryRecord] { try bus.list(namespace, prefix: prefix) }
    func namespaces() throws -> [String] { try bus.namespaces() }
    func counts() throws -> (namespaces: Int, keys: Int) {
        let s = bus.stats()
        return (s.namespaces, s.keys)
    }
    func set(_ namespace: String, _ key: String, _ value: JSONValue, ttl: Duration?) async throws {
        try await bus.setReserved(namespace, key, value, ttl: ttl)
    }
    func delete(_ namespace: String, _ key: String) async throws -> Bool { try await bus.delete(namespace, key) }
    func add(_ namespace: String, _ key: String, _ elements: [JSONValue]) async throws -> [JSONValue] {
        try await bus.addMembers(namespace, key, elements)
    }
    func remove(_ namespace: String, _ key: String, _ elements: [JSONValue]) async throws -> [JSONValue] {
        try await bus.removeMembers(namespace, key, elements)
    }
    func members(_ namespace: String, _ key: String) throws -> [JSONValue]? { try bus.members(namespace, key) }
    func clear(_ namespace: String) async throws -> Int {
        let n = try bus.list(namespace).count
        try await bus.clear(namespace)
        return n
    }
    func increment(_ namespace: String, _ key: String, by: Double) async throws -> Double {
        try await bus.increment(namespace, key, by: by)
    }
    func compareAndSet(_ namespace: String, _ key: String, expected: JSONValue?, new: JSONValue, ttl: Duration?) async throws -> Bool {
        try await bus.compareAndSet(namespace, key, expected: expected, new: new, ttl: ttl)
    }
}

@Suite("MemoryBus replicated namespaces")
struct MemoryBusReplicatedNamespaceTests {
    @Test(arguments: MemoryBackendKind.allCases)
    func heldNamespacesGoToTheStoreWithTheSameRulesAndEvents(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        let bus = f.bus
        let replica = MemoryBus(backend: InMemoryBackend(), events: EventBus(), clock: f.clock.function)
        // Written before the store is installed: stays in the backend, hidden afterwards.
        try await bus.set("shared", "old", "local")
        try await bus.set("p1", "mine", 1)
        bus.setReplicatedStore(NamespacesOnAnotherBus(bus: replica, held: ["shared", "team"]))
        #expect(bus.isReplicated("shared") && bus.isReplicated("team") && !bus.isReplicated("p1"))
        #expect(try bus.get("shared", "old") == nil)

        try await bus.set("shared", "a", "x", ttl: .seconds(10))
        try await bus.set("team", "plan", ["step": 1])
        #expect(try replica.get("shared", "a") == "x")
        #expect(try bus.get("shared", "a") == "x")
        #expect(try bus.entry("shared", "a")?.expiresAt == f.clock.now.addingTimeInterval(10))
        #expect(try bus.list("team").map(\.key) == ["plan"])
        #expect(try f.backend.entry("team", "plan") == nil)
        #expect(try await bus.increment("shared", "n", by: 2) == 2)
        #expect(try await bus.compareAndSet("shared", "n", expected: 2, new: 7))
        #expect(try await bus.compareAndSet("shared", "n", expected: 2, new: 8) == false)
        #expect(try replica.get("shared", "n") == 7)
        #expect(try bus.namespaces() == ["p1", "shared", "team"])
        let stats = bus.stats()
        #expect(stats.namespaces == 3)
        #expect(stats.keys == 4)  // p1/mine, shared/a, shared/n, team/plan; shared/old hidden

        // The same validation applies before the store is reached.
        await #expect(throws: MemoryError.reservedKey("__k")) { try await bus.set("shared", "__k", 1) }
        await #expect(throws: MemoryError.self) { try await bus.set("shared", "", 1) }
        await #expect(throws: MemoryError.self) { try await bus.set("shared", String(repeating: "k", count: 1025), 1) }
        await #expect(throws: MemoryError.self) { try await bus.set("shared", "k", 1, ttl: .seconds(-1)) }
        #expect(try replica.get("shared", "k") == nil)
        try await bus.setReserved("shared", "__kernel", true)
        #expect(try replica.get("shared", "__kernel") == true)

        #expect(try await bus.delete("team", "plan"))
        #expect(try await bus.delete("team", "plan") == false)
        try await bus.clear("shared")
        #expect(try replica.list("shared").isEmpty)
        try await bus.restore("team", records: [MemoryRecord(key: "r", entry: MemoryEntry(value: 3, updatedAt: f.clock.now))])
        #expect(try bus.get("team", "r") == 3)

        // Restore emits no events, as on the backend.
        let events = await f.events(count: 9)
        #expect(events.map(\.type) == [
            "memory.set", "memory.set",  // before the store: shared/old, p1/mine
            "memory.set", "memory.set", "memory.set", "memory.set",  // shared/a, team/plan, increment, CAS
            "memory.set",  // setReserved
            "memory.deleted", "memory.cleared",
        ])
        #expect(events.count == 9)
        #expect(events.dropFirst(7).first?.data == ["namespace": "team", "key": "plan"])
        #expect(events.last?.data == ["namespace": "shared", "count": 3])

        // Without a store, every namespace is the backend's again (the hidden key reappears).
        bus.setReplicatedStore(nil)
        #expect(try bus.get("shared", "old") == "local")
        #expect(!bus.isReplicated("shared"))
    }
}
