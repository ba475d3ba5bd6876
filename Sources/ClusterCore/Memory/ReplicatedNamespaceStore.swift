import Foundation

/// A store that holds whole namespaces on behalf of a `MemoryBus`: on a clustered node, the
/// replicated ones (`shared`, and those declared `replicated`), kept as CRDT replicas by the node.
/// The bus asks `holds` on every call and sends the namespaces it holds here instead of to its
/// backend; ClusterCore knows nothing of how they are stored.
///
/// The bus has already validated what it passes (namespace and key sizes, reserved `__` keys) and
/// emits the events (`memory.set`, `memory.deleted`, `memory.cleared`) once a call here returns;
/// a store applies what it is given. What changes for a replicated namespace (docs/memory.md):
/// - Reads are local and never wait for the network; another node's write shows up once it has
///   been received (eventual consistency, read-your-writes on the same node).
/// - A write returns once it is durable on this node, not once other nodes have it.
/// - `compareAndSet` compares against this node's replica only: it is atomic with respect to
///   other writes on this node, not across nodes (not linearizable); a concurrent write on another
///   node may win afterwards by the last-writer-wins rule.
/// - `increment` is a PN-counter: concurrent increments on every node all count, and the value
///   converges to their exact sum. A key holding a plain value cannot become a counter.
/// - Expiry: values expire at the same instant on every replica, but the store's own collection
///   removes them, so `sweepExpired` emits no `memory.expired` for them. Writes received from
///   other nodes emit no events on this node.
public protocol ReplicatedNamespaceStore: Sendable {
    /// Whether `namespace` lives in this store. Must be cheap: it is asked on every memory call.
    func holds(_ namespace: String) -> Bool

    /// The live entry under `key`; nil when absent, deleted or expired.
    func entry(_ namespace: String, _ key: String) throws -> MemoryEntry?
    /// Live records whose key starts with `prefix`, sorted by key in UTF-8 byte order.
    func records(_ namespace: String, prefix: String) throws -> [MemoryRecord]
    /// The held namespaces holding at least one live key, sorted.
    func namespaces() throws -> [String]
    /// Held namespaces with at least one live key, and the live keys in them.
    func counts() throws -> (namespaces: Int, keys: Int)

    /// Stores `value`, expiring `ttl` from now (nil: never). Returns once durable on this node.
    func set(_ namespace: String, _ key: String, _ value: JSONValue, ttl: Duration?) async throws
    /// Deletes the key; true when a live value was there.
    func delete(_ namespace: String, _ key: String) async throws -> Bool
    /// Deletes every live key of the namespace; returns how many there were.
    func clear(_ namespace: String) async throws -> Int
    /// Adds `by` to the counter under the key (absent counts as 0); returns the value after.
    func increment(_ namespace: String, _ key: String, by: Double) async throws -> Double
    /// Stores `new` only if the live value on this node equals `expected` (nil: only if there is
    /// none), atomically with respect to other writes on this node. Not linearizable across nodes.
    func compareAndSet(_ namespace: String, _ key: String, expected: JSONValue?, new: JSONValue,
                       ttl: Duration?) async throws -> Bool
    /// Adds `elements` to the set under the key; returns the members after, sorted. A replicated
    /// store keeps OR-sets, so a concurrent add on another node survives a remove.
    func add(_ namespace: String, _ key: String, _ elements: [JSONValue]) async throws -> [JSONValue]
    /// Removes `elements` from the set under the key; returns the members after, sorted.
    func remove(_ namespace: String, _ key: String, _ elements: [JSONValue]) async throws -> [JSONValue]
    /// The members of the set under the key, sorted; nil when there is no set.
    func members(_ namespace: String, _ key: String) throws -> [JSONValue]?
}
