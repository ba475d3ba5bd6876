/// The kernel shared by the observed-remove types (ORSet, ORMap, MVRegister): per key, the live
/// values each tagged with the dot of the write that made it, plus the causal context of every
/// write ever seen. A removal leaves no tombstone: the removed dots simply stay in the context, so
/// a replica that still has them learns on merge that they were removed (Almeida et al. 2018).
struct DotStore<Key: Hashable & Codable & Sendable, Value: Hashable & Codable & Sendable>: Sendable, Hashable {
    struct Tagged: Sendable, Hashable, Codable {
        let dot: Dot
        let value: Value
    }

    /// Live values per key, each list sorted by dot.
    private(set) var entries: [Key: [Tagged]] = [:]
    private(set) var context = CausalContext()
    /// Which key holds each live dot; derived, so not compared or encoded.
    private var owners: [Dot: Key] = [:]

    init() {}

    subscript(key: Key) -> [Tagged] { entries[key] ?? [] }

    /// Replaces every observed value of `key` by `value`, tagged with a fresh dot of `replica`.
    /// Records the change in `delta`.
    mutating func write(_ key: Key, _ value: Value, by replica: ReplicaID, delta: inout DotStore) {
        let dot = context.nextDot(replica)
        let old = entries[key] ?? []
        context.insert(dot)
        for t in old { owners.removeValue(forKey: t.dot) }
        entries[key] = [Tagged(dot: dot, value: value)]
        owners[dot] = key
        delta.record(removing: old.map(\.dot), key: key, adding: Tagged(dot: dot, value: value))
    }

    /// Removes every observed value of `key`. Records the change in `delta`.
    mutating func remove(_ key: Key, delta: inout DotStore) {
        guard let old = entries.removeValue(forKey: key) else { return }
        for t in old { owners.removeValue(forKey: t.dot) }
        delta.record(removing: old.map(\.dot), key: key, adding: nil)
    }

    /// Applies a local change to this store when it is used as a delta: the old dots go to the
    /// context (so receivers drop them), the new value, if any, becomes the key's only value.
    private mutating func record(removing dots: [Dot], key: Key, adding tagged: Tagged?) {
        for d in dots { context.insert(d) }
        if let old = entries.removeValue(forKey: key) {
            for t in old { owners.removeValue(forKey: t.dot) }
        }
        if let tagged {
            context.insert(tagged.dot)
            entries[key] = [tagged]
            owners[tagged.dot] = key
        }
    }

    /// The join: a dot survives if both sides have it, or one side has it and the other has never
    /// seen it.
    mutating func merge(_ other: DotStore) {
        var affected: Set<Key>
        if other.context.compact.isEmpty {
            // A delta: only keys it lists, or keys owning a dot its context covers, can change.
            affected = Set(other.entries.keys)
            for d in other.context.cloud { if let k = owners[d] { affected.insert(k) } }
        } else {
            affected = Set(entries.keys).union(other.entries.keys)
        }
        for key in affected {
            let mine = entries[key] ?? []
            let theirs = other.entries[key] ?? []
            var result: [Tagged] = []
            result.reserveCapacity(mine.count + theirs.count)
            for t in mine where !other.context.contains(t.dot) || theirs.contains(where: { $0.dot == t.dot }) {
                result.append(t)
            }
            for t in theirs where !context.contains(t.dot) && !mine.contains(where: { $0.dot == t.dot }) {
                result.append(t)
            }
            if result.count > 1 { result.sort { $0.dot < $1.dot } }
            if result == mine { continue }
            for t in mine { owners.removeValue(forKey: t.dot) }
            for t in result { owners[t.dot] = key }
            entries[key] = result.isEmpty ? nil : result
        }
        context.merge(other.context)
    }

    /// Whether a live dot or the context names `removed`, or a value needs pruning.
    func needsPruning(from removed: ReplicaID, valueNeeds: (Value) -> Bool) -> Bool {
        if context.mentions(removed) { return true }
        return entries.values.contains { $0.contains { $0.dot.replica == removed || valueNeeds($0.value) } }
    }

    /// Re-tags every value written by `removed` (or whose value mentions it) with a fresh dot of
    /// `survivor`, pruning the value, then forgets `removed` in the context.
    mutating func prune(removed: ReplicaID, into survivor: ReplicaID,
                        valueNeeds: (Value) -> Bool, pruneValue: (Value) -> Value,
                        delta: inout DotStore) {
        for (key, tagged) in entries.sorted(by: { $0.value[0].dot < $1.value[0].dot }) {
            let stale = tagged.filter { $0.dot.replica == removed || valueNeeds($0.value) }
            guard !stale.isEmpty else { continue }
            var kept = tagged.filter { t in !stale.contains { $0.dot == t.dot } }
            for t in stale {
                owners.removeValue(forKey: t.dot)
                let dot = context.nextDot(survivor)
                context.insert(dot)
                let fresh = Tagged(dot: dot, value: pruneValue(t.value))
                kept.append(fresh)
                owners[dot] = key
            }
            kept.sort { $0.dot < $1.dot }
            entries[key] = kept
            // The delta carries the key's whole new list and the dots it replaced.
            for t in stale { delta.context.insert(t.dot) }
            for t in kept { delta.context.insert(t.dot); delta.owners[t.dot] = key }
            delta.entries[key] = kept
        }
        context.drop(removed)
        delta.context.drop(removed)
        delta.dropEntries(of: removed, valueNeeds: valueNeeds)
    }

    /// Drops, without re-tagging, every value written by `removed` or mentioning it, and forgets
    /// `removed` in the context.
    mutating func pruningCleanup(removed: ReplicaID, valueNeeds: (Value) -> Bool) {
        dropEntries(of: removed, valueNeeds: valueNeeds)
        context.drop(removed)
    }

    private mutating func dropEntries(of removed: ReplicaID, valueNeeds: (Value) -> Bool) {
        for (key, tagged) in entries {
            let kept = tagged.filter { $0.dot.replica != removed && !valueNeeds($0.value) }
            if kept.count == tagged.count { continue }
            for t in tagged where !kept.contains(t) { owners.removeValue(forKey: t.dot) }
            entries[key] = kept.isEmpty ? nil : kept
        }
    }

    static func == (a: DotStore, b: DotStore) -> Bool { a.entries == b.entries && a.context == b.context }
    func hash(into h: inout Hasher) {
        h.combine(entries)
        h.combine(context)
    }
}

extension DotStore: Codable {
    private struct Entry: Codable {
        let key: Key
        let values: [Tagged]
    }
    private enum CodingKeys: String, CodingKey { case context, entries }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        context = try c.decode(CausalContext.self, forKey: .context)
        for e in try c.decode([Entry].self, forKey: .entries) {
            // Canonicalise whatever the sender wrote: sorted, unique dots, only dots in context.
            var seen = Set<Dot>()
            let values = e.values.filter { seen.insert($0.dot).inserted && owners[$0.dot] == nil }
                .sorted { $0.dot < $1.dot }
            guard !values.isEmpty else { continue }
            for t in values {
                context.insert(t.dot)
                owners[t.dot] = e.key
            }
            entries[e.key, default: []].append(contentsOf: values)
            entries[e.key]?.sort { $0.dot < $1.dot }
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(context, forKey: .context)
        let sorted = entries.map { (CRDTCoding.sortKey($0.key), Entry(key: $0.key, values: $0.value)) }
            .sorted { $0.0.lexicographicallyPrecedes($1.0) }
            .map(\.1)
        try c.encode(sorted, forKey: .entries)
    }
}
