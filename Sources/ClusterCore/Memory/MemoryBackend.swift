import Foundation

/// What an atomic update decides to do with a key.
public enum MemoryChange: Sendable, Hashable {
    /// Leave the key as it is.
    case keep
    /// Store this entry under the key.
    case store(MemoryEntry)
    /// Remove the key.
    case remove
}

/// Storage under a `MemoryBus`.
///
/// Backends are deliberately dumb: they store entries exactly as given and never look at a clock.
/// The bus owns every rule — TTL (an entry whose `expiresAt` has passed is treated as absent),
/// increment arithmetic, compare-and-set — and expresses them through `update`, whose closure a
/// backend runs atomically with respect to every other write. That is why TTL, increment and CAS
/// behave identically on every backend.
///
/// Reads (`entry`, `records`, `namespaces`, `counts`) are synchronous and see every write whose call
/// has returned. Writes are `async` and, for a durable backend, durable when they return.
public protocol MemoryBackend: Sendable {
    /// The stored entry, expired or not; nil when absent.
    func entry(_ namespace: String, _ key: String) throws -> MemoryEntry?
    /// Records in `namespace` whose key starts with `prefix` (UTF-8 bytes), expired ones included.
    func records(_ namespace: String, prefix: String) throws -> [MemoryRecord]
    /// Namespaces holding at least one key, sorted.
    func namespaces() throws -> [String]
    /// Namespace and key counts.
    func counts() throws -> (namespaces: Int, keys: Int)

    /// Stores `entry`, replacing any previous one.
    func store(_ namespace: String, _ key: String, _ entry: MemoryEntry) async throws
    /// Removes the key; returns the entry it held, if any.
    func remove(_ namespace: String, _ key: String) async throws -> MemoryEntry?
    /// Runs `decide` on the current entry (nil when absent) and applies its change, atomically with
    /// respect to every other write; returns the decision's result. If `decide` throws, nothing
    /// changes and the error is rethrown.
    func update<R: Sendable>(
        _ namespace: String, _ key: String,
        _ decide: @escaping @Sendable (MemoryEntry?) throws -> (MemoryChange, R)
    ) async throws -> R
    /// Removes every key of `namespace`; returns how many there were.
    func removeAll(_ namespace: String) async throws -> Int
    /// Replaces the whole namespace with `records`, atomically.
    func replace(_ namespace: String, with records: [MemoryRecord]) async throws
    /// Removes every entry with `expiresAt <= now`, atomically; returns the keys removed.
    func removeExpired(now: Date) async throws -> [MemoryKey]
}
