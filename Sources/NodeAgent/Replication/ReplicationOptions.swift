import CRDT

/// How a node replicates its shared memory. The defaults suit a LAN cluster of a few nodes:
/// deltas leave within one tick (100 ms) and anti-entropy offers a digest every 300 ms, so a
/// healed partition is repaired within about a second.
public struct ReplicationOptions: Sendable {
    /// The cluster's name: it namespaces the subjects (`agentvm.<cluster>.crdt.…`).
    public var cluster: String
    /// How often deltas are cut into a batch and sent, garbage collected and persisted.
    public var tickInterval: Duration
    /// The replication protocol's tuning.
    public var replicator: ReplicatorSettings
    /// How long a delete marker (or an expired value's marker) is kept before it is collected, in
    /// ms. No replica may stay away longer than this (docs/replication.md).
    public var retention: Int64
    /// Namespaces that are replicated; `shared` always is. A name must not contain `/` (the
    /// replicated key is `<namespace>/<key>`) nor start with `__` (reserved).
    public var namespaces: Set<String>
    /// How long a member must stay `dead` or `left` before its entries are pruned from every
    /// counter and set, in ms (docs/replication.md, "Departed nodes"). Default: `retention`, the
    /// longest a node may be away anyway; a node gone longer must come back under a new id.
    public var pruneAfter: Int64

    /// Options for cluster `cluster`; `namespaces` adds namespaces declared `replicated`.
    public init(cluster: String, namespaces: Set<String> = [], tickInterval: Duration = .milliseconds(100),
                retention: Int64 = 24 * 3600 * 1000) {
        self.cluster = cluster
        self.tickInterval = tickInterval
        var settings = ReplicatorSettings()
        settings.antiEntropyInterval = 300
        settings.resendAfter = 500
        self.replicator = settings
        self.retention = retention
        self.pruneAfter = retention
        self.namespaces = namespaces.union([ReplicatedMemory.sharedNamespace])
    }
}

/// Why a replicated memory operation was refused.
public enum ReplicatedMemoryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The key already holds another kind of value (a plain value, a counter or a set).
    case wrongKind(key: String, holds: String, wanted: String)
    /// An increment that is not a whole number (replicated counters count in integers).
    case notAnInteger(key: String, by: Double)
    /// The namespace is not replicated.
    case notReplicated(String)
    /// A namespace name that cannot be replicated (it holds `/`, starts with `__`, or is empty).
    case invalidNamespace(String)

    public var description: String {
        switch self {
        case .wrongKind(let key, let holds, let wanted):
            return "shared key '\(key)' holds a \(holds), not a \(wanted); a key keeps the kind of its first write (docs/replication.md)"
        case .notAnInteger(let key, let by):
            return "shared counter '\(key)' counts in whole numbers; cannot add \(by)"
        case .notReplicated(let ns):
            return "namespace '\(ns)' is not replicated"
        case .invalidNamespace(let ns):
            return "namespace '\(ns)' cannot be replicated: a replicated namespace is non-empty, holds no '/' and does not start with '__'"
        }
    }
}
