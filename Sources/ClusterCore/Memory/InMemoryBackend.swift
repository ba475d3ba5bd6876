import Foundation
import Synchronization

/// Memory kept in this process: a dictionary per namespace behind one mutex. Never suspends.
public final class InMemoryBackend: MemoryBackend {
    private let storage = Mutex<[String: [String: MemoryEntry]]>([:])

    public init() {}

    public func entry(_ namespace: String, _ key: String) throws -> MemoryEntry? {
        storage.withLock { $0[namespace]?[key] }
    }

    public func records(_ namespace: String, prefix: String) throws -> [MemoryRecord] {
        let matching = storage.withLock { s -> [MemoryRecord] in
            guard let ns = s[namespace] else { return [] }
            if prefix.isEmpty { return ns.map { MemoryRecord(key: $0.key, entry: $0.value) } }
            return ns.compactMap { $0.key.utf8.starts(with: prefix.utf8) ? MemoryRecord(key: $0.key, entry: $0.value) : nil }
        }
        return matching.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    public func namespaces() throws -> [String] {
        storage.withLock { Array($0.keys) }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    public func counts() throws -> (namespaces: Int, keys: Int) {
        storage.withLock { s in (s.count, s.values.reduce(0) { $0 + $1.count }) }
    }

    public func store(_ namespace: String, _ key: String, _ entry: MemoryEntry) async throws {
        storeNow(namespace, key, entry)
    }

    /// `store` without the async hop, for callers that know the backend is in memory.
    public func storeNow(_ namespace: String, _ key: String, _ entry: MemoryEntry) {
        storage.withLock { $0[namespace, default: [:]][key] = entry }
    }

    public func remove(_ namespace: String, _ key: String) async throws -> MemoryEntry? {
        storage.withLock { s in Self.remove(&s, namespace, key) }
    }

    public func update<R: Sendable>(
        _ namespace: String, _ key: String,
        _ decide: @escaping @Sendable (MemoryEntry?) throws -> (MemoryChange, R)
    ) async throws -> R {
        try storage.withLock { s throws -> R in
            let (change, result) = try decide(s[namespace]?[key])
            switch change {
            case .keep: break
            case .store(let e): s[namespace, default: [:]][key] = e
            case .remove: _ = Self.remove(&s, namespace, key)
            }
            return result
        }
    }

    public func removeAll(_ namespace: String) async throws -> Int {
        storage.withLock { $0.removeValue(forKey: namespace)?.count ?? 0 }
    }

    public func replace(_ namespace: String, with records: [MemoryRecord]) async throws {
        var ns: [String: MemoryEntry] = [:]
        for r in records { ns[r.key] = r.entry }
        storage.withLock { $0[namespace] = ns.isEmpty ? nil : ns }
    }

    public func removeExpired(now: Date) async throws -> [MemoryKey] {
        storage.withLock { s -> [MemoryKey] in
            var removed: [MemoryKey] = []
            for (name, entries) in s {
                for (key, entry) in entries where entry.isExpired(at: now) {
                    removed.append(MemoryKey(namespace: name, key: key))
                }
            }
            for k in removed { _ = Self.remove(&s, k.namespace, k.key) }
            return removed
        }
    }

    private static func remove(_ s: inout [String: [String: MemoryEntry]], _ namespace: String, _ key: String) -> MemoryEntry? {
        // Mutates the inner dictionary in place; copying it out would cost O(keys) per delete.
        guard let old = s[namespace]?.removeValue(forKey: key) else { return nil }
        if s[namespace]?.isEmpty == true { s[namespace] = nil }
        return old
    }
}
