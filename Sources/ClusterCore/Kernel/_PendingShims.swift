// TEMPORARY: stand-ins for the parts other helpers are building (KERNEL-API.md), so the kernel can
// compile and be tested before they land. Deleted once the real parts are merged.
import Foundation
import Synchronization

// MARK: Memory
public struct MemoryEntry: Sendable, Hashable, Codable { public var value: JSONValue; public var expiresAt: Date?; public var updatedAt: Date }
public struct MemoryRecord: Sendable, Hashable, Codable { public var key: String; public var entry: MemoryEntry }
public protocol MemoryBackend: Sendable {}
public final class InMemoryBackend: MemoryBackend { public init() {} }
public struct MemoryStats: Sendable, Hashable { public var keys: Int = 0 }
public final class MemoryBus: Sendable {
    public static let sharedNamespace = "shared"
    private let data = Mutex<[String: [String: MemoryEntry]]>([:])
    public init(backend: any MemoryBackend, events: EventBus) {}
    public func get(_ ns: String, _ key: String) throws -> JSONValue? { try entry(ns, key)?.value }
    public func entry(_ ns: String, _ key: String) throws -> MemoryEntry? {
        data.withLock { d in
            guard let e = d[ns]?[key] else { return nil }
            if let x = e.expiresAt, x <= Date() { return nil }
            return e
        }
    }
    public func set(_ ns: String, _ key: String, _ value: JSONValue, ttl: Duration? = nil) async throws {
        let exp = ttl.map { Date().addingTimeInterval(Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18) }
        data.withLock { $0[ns, default: [:]][key] = MemoryEntry(value: value, expiresAt: exp, updatedAt: Date()) }
    }
    public func delete(_ ns: String, _ key: String) async throws -> Bool { data.withLock { $0[ns]?.removeValue(forKey: key) != nil } }
    public func list(_ ns: String, prefix: String = "") throws -> [MemoryRecord] {
        data.withLock { d in
            (d[ns] ?? [:]).filter { $0.key.hasPrefix(prefix) && ($0.value.expiresAt.map { $0 > Date() } ?? true) }
                .map { MemoryRecord(key: $0.key, entry: $0.value) }.sorted { $0.key < $1.key }
        }
    }
    public func clear(_ ns: String) async throws { _ = data.withLock { $0.removeValue(forKey: ns) } }
    public func increment(_ ns: String, _ key: String, by: Double = 1) async throws -> Double {
        data.withLock { d in
            let v = (d[ns]?[key]?.value.doubleValue ?? 0) + by
            d[ns, default: [:]][key] = MemoryEntry(value: .number(v), expiresAt: nil, updatedAt: Date())
            return v
        }
    }
    public func compareAndSet(_ ns: String, _ key: String, expected: JSONValue?, new: JSONValue, ttl: Duration? = nil) async throws -> Bool {
        data.withLock { d in
            guard d[ns]?[key]?.value == expected else { return false }
            d[ns, default: [:]][key] = MemoryEntry(value: new, expiresAt: nil, updatedAt: Date()); return true
        }
    }
    public func restore(_ ns: String, records: [MemoryRecord]) async throws {
        data.withLock { d in d[ns] = Dictionary(records.map { ($0.key, $0.entry) }, uniquingKeysWith: { $1 }) }
    }
    public func namespaces() throws -> [String] { data.withLock { Array($0.keys) } }
    public func stats() -> MemoryStats { MemoryStats(keys: data.withLock { $0.values.reduce(0) { $0 + $1.count } }) }
}

