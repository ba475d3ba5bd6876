/// The kernel shared by the observed-remove types (ORSet, ORMap, MVRegister): per key, the live
/// values each tagged with the dot of the write that made it, plus the causal context of every
/// write ever seen. A removal leaves no tombstone: the removed dots simply stay in the context, so
/// a replica that still has them learns on merge that they were removed (Almeida et al. 2018).
@usableFromInline
struct DotStore<Key: Hashable & Codable & Sendable, Value: Hashable & Codable & Sendable>: Sendable, Hashable {
    @usableFromInline
    struct Tagged: Sendable, Hashable, Codable {
        @usableFromInline let dot: Dot
        @usableFromInline let value: Value

        @usableFromInline
        init(dot: Dot, value: Value) {
            self.dot = dot
            self.value = value
        }
    }

    /// Live values per key, each list sorted by dot.
    @usableFromInline var entries: [Key: [Tagged]] = [:]
    @usableFromInline var context = CausalContext()
    /// Set only on deltas: every key whose dots the delta's context covers. It lets a delta be
    /// merged by visiting just those keys; a full state (nil) is merged by visiting every key.
    /// Invariant: a dot in `context` was written under a key in `touched`.
    @usableFromInline var touched: Set<Key>?

    /// An empty state, or an empty delta.
    @usableFromInline
    init(delta: Bool = false) {
        touched = delta ? [] : nil
    }

    subscript(key: Key) -> [Tagged] { entries[key] ?? [] }

    /// Replaces every observed value of `key` by `value`, tagged with a fresh dot of `replica`.
    /// Records the change in `delta`.
    mutating func write(_ key: Key, _ value: Value, by replica: ReplicaID, delta: inout DotStore) {
        let dot = context.nextDot(replica)
        let old = entries[key] ?? []
        context.insert(dot)
        let tagged = Tagged(dot: dot, value: value)
        entries[key] = [tagged]
        touched?.insert(key)
        delta.record(removing: old.map(\.dot), key: key, adding: tagged)
    }

    /// Removes every observed value of `key`. Records the change in `delta`.
    mutating func remove(_ key: Key, delta: inout DotStore) {
        guard let old = entries.removeValue(forKey: key) else { return }
        touched?.insert(key)
        delta.record(removing: old.map(\.dot), key: key, adding: nil)
    }

    /// Applies a local change to this store when it is used as a delta: the old dots go to the
    /// context (so receivers drop them), the new value, if any, becomes the key's only value.
    private mutating func record(removing dots: [Dot], key: Key, adding tagged: Tagged?) {
        for d in dots { context.insert(d) }
        touched?.insert(key)
        entries.removeValue(forKey: key)
        if let tagged {
            context.insert(tagged.dot)
            entries[key] = [tagged]
        }
    }

    /// The join: a dot survives if both sides have it, or one side has it and the other has never
    /// seen it.
    @inlinable
    mutating func merge(_ other: DotStore) {
        let mineSeen = ContextProbe(context), theirsSeen = ContextProbe(other.context)
        if let keys = other.touched {
            for key in keys { mergeKey(key, other.entries[key] ?? [], mineSeen, theirsSeen) }
            for (key, theirs) in other.entries where !keys.contains(key) { mergeKey(key, theirs, mineSeen, theirsSeen) }
        } else {
            // Keys only on this side lose the dots the other side has seen (and removed). Done before
            // their keys arrive, and the key is looked up in `other` only when one of its dots was seen
            // there, which a context that never saw this side's writes rules out cheaply.
            if !other.context.isEmpty {
                var dropped: [(Key, [Tagged])] = []
                for (key, mine) in entries {
                    guard mine.contains(where: { theirsSeen.contains($0.dot) }), other.entries[key] == nil else { continue }
                    dropped.append((key, mine.filter { !theirsSeen.contains($0.dot) }))
                }
                for (key, kept) in dropped { entries[key] = kept.isEmpty ? nil : kept }
            }
            for (key, theirs) in other.entries { mergeKey(key, theirs, mineSeen, theirsSeen) }
        }
        context.merge(other.context)
        if let mine = touched, let theirs = other.touched {
            touched = mine.union(theirs)
        } else {
            touched = nil
        }
    }

    /// Joins one key: a single hash lookup, whose slot is read and written in place.
    @inlinable
    mutating func mergeKey(_ key: Key, _ theirs: [Tagged], _ mineSeen: ContextProbe, _ theirsSeen: ContextProbe) {
        Self.join(&entries[key], theirs, mineSeen, theirsSeen)
    }

    @inlinable
    static func join(_ slot: inout [Tagged]?, _ theirs: [Tagged], _ mineSeen: ContextProbe, _ theirsSeen: ContextProbe) {
        guard let mine = slot else {
            // Absent here: their dots survive unless this side has seen (removed) them.
            if theirs.isEmpty { return }
            if theirs.allSatisfy({ !mineSeen.contains($0.dot) }) {
                slot = theirs
            } else {
                let added = theirs.filter { !mineSeen.contains($0.dot) }
                if !added.isEmpty { slot = added }
            }
            return
        }
        if mine.count == 1 && theirs.count == 1 {
            // The common case, one live write per side, without building a list unless both survive.
            let m = mine[0], t = theirs[0]
            if m.dot == t.dot { return }
            let keepMine = !theirsSeen.contains(m.dot), addTheirs = !mineSeen.contains(t.dot)
            switch (keepMine, addTheirs) {
            case (true, false): return
            case (false, true): slot = theirs
            case (false, false): slot = nil
            case (true, true): slot = m.dot < t.dot ? [m, t] : [t, m]
            }
            return
        }
        // Both lists are sorted by dot: walk them together.
        var result: [Tagged] = []
        result.reserveCapacity(mine.count + theirs.count)
        var changed = false
        var i = 0, j = 0
        while i < mine.count || j < theirs.count {
            if j == theirs.count || (i < mine.count && mine[i].dot < theirs[j].dot) {
                if theirsSeen.contains(mine[i].dot) { changed = true } else { result.append(mine[i]) }
                i += 1
            } else if i == mine.count || theirs[j].dot < mine[i].dot {
                if !mineSeen.contains(theirs[j].dot) {
                    result.append(theirs[j])
                    changed = true
                }
                j += 1
            } else {
                result.append(mine[i])
                i += 1
                j += 1
            }
        }
        if changed { slot = result.isEmpty ? nil : result }
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
                let dot = context.nextDot(survivor)
                context.insert(dot)
                kept.append(Tagged(dot: dot, value: pruneValue(t.value)))
            }
            kept.sort { $0.dot < $1.dot }
            entries[key] = kept
            // The delta carries the key's whole new list and the dots it replaced.
            for t in stale { delta.context.insert(t.dot) }
            for t in kept { delta.context.insert(t.dot) }
            delta.touched?.insert(key)
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
            entries[key] = kept.isEmpty ? nil : kept
        }
    }

    @usableFromInline
    static func == (a: DotStore, b: DotStore) -> Bool { a.entries == b.entries && a.context == b.context }
    @usableFromInline
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
    // `touched` is not encoded: equal states must encode to equal bytes whether or not they began
    // as deltas. A decoded store is a full state, merged by visiting every key.
    private enum CodingKeys: String, CodingKey { case context, entries }

    @usableFromInline
    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        context = try c.decode(CausalContext.self, forKey: .context)
        var claimed = Set<Dot>()
        for e in try c.decode([Entry].self, forKey: .entries) {
            // Canonicalise whatever the sender wrote: sorted, unique dots, only dots in context.
            var seen = Set<Dot>()
            let values = e.values.filter { seen.insert($0.dot).inserted && !claimed.contains($0.dot) }
                .sorted { $0.dot < $1.dot }
            guard !values.isEmpty else { continue }
            for t in values {
                context.insert(t.dot)
                claimed.insert(t.dot)
            }
            entries[e.key, default: []].append(contentsOf: values)
            entries[e.key]?.sort { $0.dot < $1.dot }
        }
    }

    @usableFromInline
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(context, forKey: .context)
        let sorted = entries.map { (CRDTCoding.sortKey($0.key), Entry(key: $0.key, values: $0.value)) }
            .sorted { $0.0.lexicographicallyPrecedes($1.0) }
            .map(\.1)
        try c.encode(sorted, forKey: .entries)
    }
}
