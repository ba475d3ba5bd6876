import Foundation

/// A stored value with its expiry and last-write time.
public struct MemoryEntry: Sendable, Hashable, Codable {
    public var value: JSONValue
    /// When the value stops existing; nil = never. Reads at or after this instant see nothing.
    public var expiresAt: Date?
    public var updatedAt: Date

    public init(value: JSONValue, expiresAt: Date? = nil, updatedAt: Date) {
        self.value = value
        self.expiresAt = expiresAt
        self.updatedAt = updatedAt
    }

    /// True when the entry has expired at `now`.
    @inlinable
    public func isExpired(at now: Date) -> Bool {
        if let expiresAt { return expiresAt <= now }
        return false
    }
}

/// A key with its entry: what `list` returns and what a checkpoint carries.
public struct MemoryRecord: Sendable, Hashable, Codable {
    public var key: String
    public var entry: MemoryEntry

    public init(key: String, entry: MemoryEntry) {
        self.key = key
        self.entry = entry
    }
}

/// A key that expired, as reported by a backend's sweep.
public struct MemoryKey: Sendable, Hashable {
    public var namespace: String
    public var key: String

    public init(namespace: String, key: String) {
        self.namespace = namespace
        self.key = key
    }
}

/// Counters of a `MemoryBus`.
public struct MemoryStats: Sendable, Hashable, Codable {
    /// Namespaces holding at least one key (expired-but-unswept keys included).
    public var namespaces: Int
    /// Keys stored (expired-but-unswept keys included).
    public var keys: Int
    /// get/entry/list calls.
    public var reads: UInt64
    /// Successful set/delete/clear/increment/compareAndSet/restore/setReserved calls.
    public var writes: UInt64
    /// Keys removed because their TTL ran out.
    public var expired: UInt64

    public init(namespaces: Int = 0, keys: Int = 0, reads: UInt64 = 0, writes: UInt64 = 0, expired: UInt64 = 0) {
        self.namespaces = namespaces
        self.keys = keys
        self.reads = reads
        self.writes = writes
        self.expired = expired
    }
}

/// Why a memory operation failed.
public enum MemoryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The key starts with `__`, which only the kernel may write (`setReserved`).
    case reservedKey(String)
    /// `increment` on a key whose value is not a number.
    case notANumber(key: String)
    /// The storage below failed; the message says how.
    case backend(String)
    /// An empty or over-long key or namespace.
    case invalidKey(String)
    /// The backend was closed.
    case closed
    /// A TTL that is zero, negative or not finite.
    case invalidTTL(String)
    /// `increment` would leave the finite numbers (JSON cannot hold infinity).
    case notFinite(key: String)
    /// A process asked for a namespace that is neither its own, `shared`, nor a common one.
    case namespaceClosed(String)
    /// A set operation on a key that holds something else.
    case notASet(key: String, holds: String)

    public var description: String {
        switch self {
        case .reservedKey(let k): return "memory key '\(k)' is reserved (keys starting with '__' are written by the kernel only)"
        case .notANumber(let k): return "memory key '\(k)' does not hold a number, so it cannot be incremented"
        case .backend(let m): return "memory backend failed: \(m)"
        case .invalidKey(let m): return "invalid memory key: \(m)"
        case .closed: return "memory backend is closed"
        case .invalidTTL(let m): return "invalid memory TTL: \(m)"
        case .notFinite(let k): return "incrementing memory key '\(k)' would overflow to infinity"
        case .notASet(let k, let holds): return "memory key '\(k)' holds a \(holds), not a set"
        case .namespaceClosed(let ns): return "memory namespace '\(ns)' is not open to processes: only a process's own namespace, 'shared' and the namespaces listed in memory.replicated are"
        }
    }
}
