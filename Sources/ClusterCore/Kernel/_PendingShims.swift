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

// MARK: Broker
public enum ChannelType: String, Sendable, Codable { case pubsub, direct, queue }
public struct ChannelConfig: Sendable, Hashable, Codable {
    public var name: String; public var type: ChannelType; public var historyLimit: Int; public var schema: JSONSchema?; public var maxDeliveryAttempts: Int
    public init(name: String, type: ChannelType = .pubsub, historyLimit: Int = 100, schema: JSONSchema? = nil, maxDeliveryAttempts: Int = 3) {
        self.name = name; self.type = type; self.historyLimit = historyLimit; self.schema = schema; self.maxDeliveryAttempts = maxDeliveryAttempts
    }
}
public struct BrokerMessage: Sendable, Hashable, Codable {
    public var id: UInt64; public var channel: String?; public var from: String; public var to: String?
    public var payload: JSONValue; public var priority: Int; public var timestamp: Date; public var expiresAt: Date?; public var attempts: Int
    public init(id: UInt64, channel: String? = nil, from: String, to: String? = nil, payload: JSONValue, priority: Int = 0, timestamp: Date = Date(), expiresAt: Date? = nil, attempts: Int = 0) {
        self.id = id; self.channel = channel; self.from = from; self.to = to; self.payload = payload
        self.priority = priority; self.timestamp = timestamp; self.expiresAt = expiresAt; self.attempts = attempts
    }
}
public struct DeadLetter: Sendable, Hashable, Codable { public var message: BrokerMessage; public var reason: String; public var at: Date }
public enum BrokerError: Error, Sendable, CustomStringConvertible {
    case channelNotFound(String), channelExists(String), mailboxFull(owner: String), invalidChannelName(String)
    public var description: String { "broker error" }
}
public final class Mailbox: Sendable {
    private let q = Mutex<[BrokerMessage]>([])
    public let owner: String; public let capacity: Int
    public init(owner: String, capacity: Int = 10_000) { self.owner = owner; self.capacity = capacity }
    public func push(_ m: BrokerMessage) throws(BrokerError) -> Bool {
        let r: Bool? = q.withLock { q in
            if q.count >= capacity { return nil }
            let i = q.firstIndex { $0.priority < m.priority } ?? q.endIndex
            q.insert(m, at: i); return q.count == 1
        }
        guard let r else { throw .mailboxFull(owner: owner) }
        return r
    }
    public func pushFront(_ m: BrokerMessage) { q.withLock { $0.insert(m, at: 0) } }
    public func pop() -> BrokerMessage? { q.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
    public var count: Int { q.withLock { $0.count } }
    public func snapshot() -> [BrokerMessage] { q.withLock { $0 } }
    public func removeAll() -> [BrokerMessage] { q.withLock { let a = $0; $0 = []; return a } }
}
public typealias BrokerDelivery = @Sendable (BrokerMessage) throws -> Void
public struct BrokerStats: Sendable, Hashable { public var channels: Int = 0; public var deadLetters: Int = 0 }
public final class MessageBroker: Sendable {
    private struct S { var channels: [String: ChannelConfig] = [:]; var subs: [String: [(String, BrokerDelivery)]] = [:]; var dead: [DeadLetter] = [] }
    private let s = Mutex(S())
    private let ids = Atomic<UInt64>(0)
    public init(events: EventBus, deadLetterLimit: Int = 10_000) {}
    public func createChannel(_ config: ChannelConfig) throws(BrokerError) { s.withLock { $0.channels[config.name] = config } }
    public func channels() -> [ChannelConfig] { s.withLock { Array($0.channels.values) } }
    public func subscribe(_ channel: String, subscriber: String, deliver: @escaping BrokerDelivery) throws(BrokerError) {
        let ok = s.withLock { s in
            guard s.channels[channel] != nil else { return false }
            s.subs[channel, default: []].append((subscriber, deliver)); return true
        }
        if !ok { throw .channelNotFound(channel) }
    }
    public func unsubscribe(_ channel: String, subscriber: String) { s.withLock { $0.subs[channel]?.removeAll { $0.0 == subscriber } } }
    public func unsubscribeAll(subscriber: String) { s.withLock { s in for k in s.subs.keys { s.subs[k]?.removeAll { $0.0 == subscriber } } } }
    @discardableResult
    public func publish(_ channel: String, from: String, payload: JSONValue, priority: Int = 0, to: String? = nil, ttl: Duration? = nil) throws(BrokerError) -> BrokerMessage {
        let m = BrokerMessage(id: nextMessageID(), channel: channel, from: from, to: to, payload: payload, priority: priority)
        guard let subs = s.withLock({ $0.channels[channel] == nil ? nil : $0.subs[channel] ?? [] }) else { throw .channelNotFound(channel) }
        for (_, d) in subs { do { try d(m) } catch { deadLetter(m, reason: "\(error)") } }
        return m
    }
    public func deadLetter(_ message: BrokerMessage, reason: String) { s.withLock { $0.dead.append(DeadLetter(message: message, reason: reason, at: Date())) } }
    public func deadLetters(limit: Int? = nil) -> [DeadLetter] { s.withLock { $0.dead } }
    public func nextMessageID() -> UInt64 { ids.wrappingAdd(1, ordering: .relaxed).newValue }
    public func stats() -> BrokerStats { s.withLock { BrokerStats(channels: $0.channels.count, deadLetters: $0.dead.count) } }
}
