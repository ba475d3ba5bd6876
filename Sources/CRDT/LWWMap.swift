import JSONCodec

/// A map from string keys to last-writer-wins values, with per-key time-to-live and deletes that
/// stay deleted.
///
/// Each key holds one entry stamped with a hybrid logical clock: a set writes a value, a delete
/// writes a delete marker; the greater timestamp wins, whichever kind it is. A TTL is stored as an
/// absolute `expiresAt` (wall ms) inside the entry, so every replica expires the key at the same
/// instant. `collectGarbage` turns expired entries into markers and drops markers older than the
/// retention period; see docs/crdt.md for why that period bounds how long a replica may be away.
public struct LWWMap<Value: Codable & Hashable & Sendable>: DeltaReplicatedData {
    /// One key's state: a value or a delete marker, with the write's timestamp.
    public struct Entry: Sendable, Hashable, Codable {
        /// The write's timestamp.
        public let timestamp: HLC
        /// The value, nil for a delete marker.
        public let value: Value?
        /// For a value: when it expires (wall ms), nil for never. For a marker: when the key was
        /// deleted or expired, which starts its retention period.
        public let expiresAt: Int64?

        /// An entry.
        public init(timestamp: HLC, value: Value?, expiresAt: Int64?) {
            self.timestamp = timestamp
            self.value = value
            self.expiresAt = expiresAt
        }

        /// Whether this is a delete marker.
        public var isDeleted: Bool { value == nil }

        /// Whether the entry holds a value readable at `now`.
        public func isLive(at now: Int64) -> Bool {
            guard value != nil else { return false }
            return expiresAt.map { now < $0 } ?? true
        }

        /// The total order that decides a merge: timestamp first; for one timestamp (a value and
        /// the marker it expired into) the marker, then the later `expiresAt`, then the value bytes.
        @inlinable
        func wins(over other: Entry) -> Bool {
            if timestamp.wall != other.timestamp.wall { return timestamp.wall > other.timestamp.wall }
            if timestamp != other.timestamp { return timestamp > other.timestamp }
            if isDeleted != other.isDeleted { return isDeleted }
            if expiresAt != other.expiresAt { return (expiresAt ?? Int64.max) > (other.expiresAt ?? Int64.max) }
            guard let a = value, let b = other.value, a != b else { return false }
            return CRDTCoding.sortKey(b).lexicographicallyPrecedes(CRDTCoding.sortKey(a))
        }

        private enum CodingKeys: String, CodingKey { case timestamp = "t", value = "v", expiresAt = "x" }

        @inlinable
        func write(to writer: inout JSONWriter) throws {
            writer.raw(#"{"t":"#)
            try timestamp.write(to: &writer)
            if let value {
                writer.raw(#","v":"#)
                try writer.value(value)
            }
            if let expiresAt {
                writer.raw(#","x":"#)
                writer.integer(expiresAt)
            }
            writer.raw("}")
        }

        @inlinable
        static func read(from reader: inout JSONReader) throws -> Entry {
            var timestamp: HLC?, value: Value?, expiresAt: Int64?
            try reader.readFields(["t", "v", "x"], optional: ["v", "x"]) { r, k in
                switch k {
                case 0: timestamp = try HLC.read(from: &r)
                case 1: value = try r.readNull() ? nil : r.read(Value.self)
                default: expiresAt = try r.readNull() ? nil : r.readInteger()
                }
            }
            guard let timestamp else { throw reader.error("key 't' not found") }
            return Entry(timestamp: timestamp, value: value, expiresAt: expiresAt)
        }
    }

    /// Every key's entry, delete markers included.
    public var entries: [String: Entry] { storage }
    @usableFromInline var storage: [String: Entry]
    private var deltaStorage: [LWWMap] = []

    /// An empty map.
    public init() { storage = [:] }

    /// The value of `key` readable at wall time `now`.
    public func get(_ key: String, now: Int64) -> Value? {
        guard let e = entries[key], e.isLive(at: now) else { return nil }
        return e.value
    }

    /// The keys readable at `now`, sorted.
    public func keys(now: Int64) -> [String] {
        entries.compactMap { $0.value.isLive(at: now) ? $0.key : nil }.sorted()
    }

    /// Sets `key` on behalf of `replica` at wall time `wall`; `expiresAt` (wall ms) bounds its life.
    /// The write is ordered after whatever this replica holds for the key, so a replica always
    /// reads its own latest write.
    public mutating func set(_ key: String, _ value: Value, expiresAt: Int64? = nil,
                             wall: Int64, by replica: ReplicaID) {
        let ts = HLC.now(wall: wall, node: replica, after: entries[key]?.timestamp)
        apply(key, Entry(timestamp: ts, value: value, expiresAt: expiresAt))
    }

    /// Deletes `key` on behalf of `replica` at wall time `wall`: a marker that beats every older set.
    public mutating func delete(_ key: String, wall: Int64, by replica: ReplicaID) {
        let ts = HLC.now(wall: wall, node: replica, after: entries[key]?.timestamp)
        apply(key, Entry(timestamp: ts, value: nil, expiresAt: wall))
    }

    /// Writes an entry with an explicit timestamp (kept only if it wins), recording it in the delta.
    public mutating func apply(_ key: String, _ entry: Entry) {
        if let current = entries[key], !entry.wins(over: current) { return }
        storage[key] = entry
        if deltaStorage.isEmpty { deltaStorage = [LWWMap()] }
        deltaStorage[0].storage[key] = entry
    }

    @inlinable
    public mutating func merge(_ other: LWWMap) {
        if storage.isEmpty {
            storage = other.storage
            return
        }
        // One hash lookup per entry, new keys included: the slot is read and written in place.
        for (key, theirs) in other.storage { Self.join(&storage[key], theirs) }
    }

    @inlinable
    static func join(_ slot: inout Entry?, _ theirs: Entry) {
        if let mine = slot, !theirs.wins(over: mine) { return }
        slot = theirs
    }

    /// Collects what no reader can see: entries expired at `now` become delete markers (the same
    /// timestamp, so they win over the expired value on every replica), and markers whose deletion
    /// or expiry is at least `retention` ms before `now` are dropped. Returns the keys dropped.
    @discardableResult
    public mutating func collectGarbage(now: Int64, retention: Int64) -> [String] {
        var dropped: [String] = []
        for (key, e) in entries {
            if let x = e.expiresAt, e.value != nil, now >= x {
                storage[key] = Entry(timestamp: e.timestamp, value: nil, expiresAt: x)
            }
            if let e2 = entries[key], e2.isDeleted, now >= (e2.expiresAt ?? e2.timestamp.wall) &+ retention {
                storage.removeValue(forKey: key)
                dropped.append(key)
            }
        }
        return dropped.sorted()
    }

    public var delta: LWWMap? { deltaStorage.first }
    public mutating func resetDelta() { deltaStorage = [] }

    public static func == (a: LWWMap, b: LWWMap) -> Bool { a.entries == b.entries }
    public func hash(into h: inout Hasher) { h.combine(entries) }

    private enum CodingKeys: String, CodingKey { case entries }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        storage = try c.decode([String: Entry].self, forKey: .entries)
    }
    @inlinable
    public func write(to writer: inout JSONWriter) throws {
        writer.raw(#"{"entries":"#)
        try writer.object(storage, key: { $0 }) { w, e in try e.write(to: &w) }
        writer.raw("}")
    }

    @inlinable
    public static func read(from reader: inout JSONReader) throws -> LWWMap {
        var m = LWWMap()
        try reader.readFields(["entries"]) { r, _ in
            m.storage = try r.readMap { r in try Entry.read(from: &r) }
        }
        return m
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(entries, forKey: .entries)
    }
}
