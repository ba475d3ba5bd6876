import ClusterCore
import Foundation

/// A `ReplicatedMemory` as the store behind a `MemoryBus`'s replicated namespaces: what the
/// kernel's processes read and write in `shared` (and in every namespace declared `replicated`)
/// then goes to the CRDT replica and reaches every node. Reads are answered outside the actor.
struct ReplicatedNamespaces: ReplicatedNamespaceStore {
    let memory: ReplicatedMemory

    func holds(_ namespace: String) -> Bool { memory.isReplicated(namespace) }

    func entry(_ namespace: String, _ key: String) throws -> MemoryEntry? { try memory.entry(namespace, key) }

    func records(_ namespace: String, prefix: String) throws -> [MemoryRecord] {
        try memory.list(namespace, prefix: prefix)
    }

    func namespaces() throws -> [String] { memory.liveKeyCounts().keys.sorted() }

    func counts() throws -> (namespaces: Int, keys: Int) {
        let c = memory.liveKeyCounts()
        return (c.count, c.values.reduce(0, +))
    }

    func set(_ namespace: String, _ key: String, _ value: JSONValue, ttl: Duration?) async throws {
        try await memory.write(namespace, key, value, ttl: ttl)
    }

    func delete(_ namespace: String, _ key: String) async throws -> Bool { try await memory.delete(namespace, key) }

    func clear(_ namespace: String) async throws -> Int { try await memory.clear(namespace) }

    func increment(_ namespace: String, _ key: String, by: Double) async throws -> Double {
        Double(try await memory.increment(namespace, key, by: by))
    }

    func compareAndSet(_ namespace: String, _ key: String, expected: JSONValue?, new: JSONValue,
                       ttl: Duration?) async throws -> Bool {
        try await memory.compareAndSet(namespace, key, expected: expected, new: new, ttl: ttl)
    }

    func add(_ namespace: String, _ key: String, _ elements: [JSONValue]) async throws -> [JSONValue] {
        try await memory.add(namespace, key, elements)
    }

    func remove(_ namespace: String, _ key: String, _ elements: [JSONValue]) async throws -> [JSONValue] {
        try await memory.remove(namespace, key, elements)
    }

    func members(_ namespace: String, _ key: String) throws -> [JSONValue]? { try memory.members(namespace, key) }
}
