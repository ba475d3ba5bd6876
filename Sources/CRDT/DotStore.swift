import JSONCodec

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

    /// A key's live values. Almost every key has exactly one, kept inline: such a key costs no
    /// allocation, and a merge reads it without following a pointer to a list on the heap. Always
    /// canonical (never an empty or one-element `many`), so equal states are equal values.
    @usableFromInline
    enum Slot: Sendable, Hashable {
        case one(Tagged)
        /// Two or more values, sorted by dot.
        case many([Tagged])

        /// The slot holding `list` (sorted by dot), nil when it is empty.
        @inlinable
        init?(_ list: [Tagged]) {
            switch list.count {
            case 0: return nil
            case 1: self = .one(list[0])
            default: self = .many(list)
            }
        }

        /// The values, sorted by dot.
        @inlinable
        var tags: [Tagged] {
            switch self {
            case .one(let t): return [t]
            case .many(let list): return list
            }
        }

        /// Whether any value satisfies `predicate`, without building a list.
        @inlinable
        func contains(where predicate: (Tagged) -> Bool) -> Bool {
            switch self {
            case .one(let t): return predicate(t)
            case .many(let list): return list.contains(where: predicate)
            }
        }

        /// The slot without the values `drop` selects; nil when none is left.
        @inlinable
        func removing(where drop: (Tagged) -> Bool) -> Slot? {
            switch self {
            case .one(let t): return drop(t) ? nil : self
            case .many(let list):
                let kept = list.filter { !drop($0) }
                return kept.count == list.count ? self : Slot(kept)
            }
        }

        // The merge's forms of `contains(where:)` and `removing(where:)`. They take the probe as an
        // argument, borrowed: a closure capturing it would copy it, retaining its buffers, per key.

        /// Whether `seen` contains any of the dots.
        @inlinable
        func anySeen(_ seen: ContextProbe) -> Bool {
            switch self {
            case .one(let t): return seen.contains(t.dot)
            case .many(let list):
                for t in list where seen.contains(t.dot) { return true }
                return false
            }
        }

        /// Whether `seen` contains every dot.
        @inlinable
        func allSeen(_ seen: ContextProbe) -> Bool {
            switch self {
            case .one(let t): return seen.contains(t.dot)
            case .many(let list):
                for t in list where !seen.contains(t.dot) { return false }
                return true
            }
        }

        /// The slot without the dots `seen` contains; nil when none is left.
        @inlinable
        func removingSeen(_ seen: ContextProbe) -> Slot? {
            switch self {
            case .one(let t): return seen.contains(t.dot) ? nil : self
            case .many(let list):
                var kept: [Tagged] = []
                for t in list where !seen.contains(t.dot) { kept.append(t) }
                return kept.count == list.count ? self : Slot(kept)
            }
        }
    }

    /// Live values per key.
    @usableFromInline var entries: [Key: Slot] = [:]
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

    /// The live values of `key`, sorted by dot.
    subscript(key: Key) -> [Tagged] { entries[key]?.tags ?? [] }

    /// Replaces every observed value of `key` by `value`, tagged with a fresh dot of `replica`.
    /// Records the change in `delta`.
    mutating func write(_ key: Key, _ value: Value, by replica: ReplicaID, delta: inout DotStore) {
        let dot = context.nextDot(replica)
        let old = entries[key]
        context.insert(dot)
        let tagged = Tagged(dot: dot, value: value)
        entries[key] = .one(tagged)
        touched?.insert(key)
        delta.record(removing: old, key: key, adding: tagged)
    }

    /// Removes every observed value of `key`. Records the change in `delta`.
    mutating func remove(_ key: Key, delta: inout DotStore) {
        guard let old = entries.removeValue(forKey: key) else { return }
        touched?.insert(key)
        delta.record(removing: old, key: key, adding: nil)
    }

    /// Applies a local change to this store when it is used as a delta: the old dots go to the
    /// context (so receivers drop them), the new value, if any, becomes the key's only value.
    private mutating func record(removing old: Slot?, key: Key, adding tagged: Tagged?) {
        for t in old?.tags ?? [] { context.insert(t.dot) }
        touched?.insert(key)
        entries.removeValue(forKey: key)
        if let tagged {
            context.insert(tagged.dot)
            entries[key] = .one(tagged)
        }
    }

    /// The join: a dot survives if both sides have it, or one side has it and the other has never
    /// seen it.
    @inlinable
    mutating func merge(_ other: DotStore) {
        let mineSeen = ContextProbe(context), theirsSeen = ContextProbe(other.context)
        if let keys = other.touched {
            for key in keys { Self.join(&entries[key], other.entries[key], mineSeen, theirsSeen) }
            for (key, theirs) in other.entries where !keys.contains(key) {
                Self.join(&entries[key], theirs, mineSeen, theirsSeen)
            }
        } else {
            // Two passes, each looking keys up only where it must. First this side's keys holding a
            // dot the other side has seen: each is joined with the other side's values (which drops
            // the dots it removed). Then the other side's keys, except those whose dots this side had
            // all seen: such a key is either joined already (this side holds one of those dots, which
            // the other side has seen, being its own) or its join is this side's values unchanged.
            // So between replicas that share most of their history, most keys are looked up once.
            if !other.context.isEmpty {
                var emptied: [Key] = []
                var i = entries.startIndex
                while i != entries.endIndex {
                    let (key, mine) = entries[i]
                    if mine.anySeen(theirsSeen) {
                        var slot: Slot? = mine
                        Self.join(&slot, other.entries[key], mineSeen, theirsSeen)
                        // Values are replaced in place (indices stay valid); removals wait.
                        if let slot { entries.values[i] = slot } else { emptied.append(key) }
                    }
                    entries.formIndex(after: &i)
                }
                for key in emptied { entries.removeValue(forKey: key) }
            }
            for (key, theirs) in other.entries where !theirs.allSeen(mineSeen) {
                // One hash lookup: the slot is read and written in place.
                Self.join(&entries[key], theirs, mineSeen, theirsSeen)
            }
        }
        context.merge(other.context)
        if let mine = touched, let theirs = other.touched {
            touched = mine.union(theirs)
        } else {
            touched = nil
        }
    }

    /// Joins one key's values; `theirs` nil when the other side holds none.
    @inlinable
    static func join(_ slot: inout Slot?, _ theirs: Slot?, _ mineSeen: ContextProbe, _ theirsSeen: ContextProbe) {
        guard let theirs else {
            if let mine = slot { slot = mine.removingSeen(theirsSeen) }
            return
        }
        guard let mine = slot else {
            // Absent here: their dots survive unless this side has seen (removed) them.
            slot = theirs.removingSeen(mineSeen)
            return
        }
        if case .one(let m) = mine, case .one(let t) = theirs {
            // The common case, one live write per side, without building a list unless both survive.
            if m.dot == t.dot { return }
            let keepMine = !theirsSeen.contains(m.dot), addTheirs = !mineSeen.contains(t.dot)
            switch (keepMine, addTheirs) {
            case (true, false): return
            case (false, true): slot = theirs
            case (false, false): slot = nil
            case (true, true): slot = .many(m.dot < t.dot ? [m, t] : [t, m])
            }
            return
        }
        // Both lists are sorted by dot: walk them together.
        let a = mine.tags, b = theirs.tags
        var result: [Tagged] = []
        result.reserveCapacity(a.count + b.count)
        var changed = false
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i].dot < b[j].dot) {
                if theirsSeen.contains(a[i].dot) { changed = true } else { result.append(a[i]) }
                i += 1
            } else if i == a.count || b[j].dot < a[i].dot {
                if !mineSeen.contains(b[j].dot) {
                    result.append(b[j])
                    changed = true
                }
                j += 1
            } else {
                result.append(a[i])
                i += 1
                j += 1
            }
        }
        if changed { slot = Slot(result) }
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
        let sorted = entries.map { ($0.key, $0.value.tags) }.sorted { $0.1[0].dot < $1.1[0].dot }
        for (key, tagged) in sorted {
            let stale = tagged.filter { $0.dot.replica == removed || valueNeeds($0.value) }
            guard !stale.isEmpty else { continue }
            var kept = tagged.filter { t in !stale.contains { $0.dot == t.dot } }
            for t in stale {
                let dot = context.nextDot(survivor)
                context.insert(dot)
                kept.append(Tagged(dot: dot, value: pruneValue(t.value)))
            }
            kept.sort { $0.dot < $1.dot }
            entries[key] = Slot(kept)
            // The delta carries the key's whole new list and the dots it replaced.
            for t in stale { delta.context.insert(t.dot) }
            for t in kept { delta.context.insert(t.dot) }
            delta.touched?.insert(key)
            delta.entries[key] = Slot(kept)
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
        for (key, slot) in entries where slot.contains(where: { $0.dot.replica == removed || valueNeeds($0.value) }) {
            entries[key] = slot.removing { $0.dot.replica == removed || valueNeeds($0.value) }
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
        self.init(context: try c.decode(CausalContext.self, forKey: .context),
                  entries: try c.decode([Entry].self, forKey: .entries).map { ($0.key, $0.values) })
    }

    /// A full state from what a sender wrote, made canonical: sorted, unique dots, only dots in
    /// the context.
    private init(context: CausalContext, entries listed: [(key: Key, values: [Tagged])]) {
        self.init()
        self.context = context
        var claimed = Set<Dot>()
        for e in listed {
            if e.values.count == 1, let t = e.values.first, entries[e.key] == nil {
                // The common case, one value under a key listed once, without building lists.
                guard claimed.insert(t.dot).inserted else { continue }
                self.context.insert(t.dot)
                entries[e.key] = .one(t)
                continue
            }
            var seen = Set<Dot>()
            let values = e.values.filter { seen.insert($0.dot).inserted && !claimed.contains($0.dot) }
                .sorted { $0.dot < $1.dot }
            guard !values.isEmpty else { continue }
            for t in values {
                self.context.insert(t.dot)
                claimed.insert(t.dot)
            }
            // A key listed twice joins its lists (their dots are distinct: `claimed`).
            entries[e.key] = Slot(((entries[e.key]?.tags ?? []) + values).sorted { $0.dot < $1.dot })
        }
    }

    /// The fast form of `encode(to:)`.
    func write(to writer: inout JSONWriter) throws {
        writer.raw(#"{"context":"#)
        try context.write(to: &writer)
        writer.raw(#","entries":"#)
        var sorted: [(sortKey: [UInt8], key: Key, slot: Slot)] = []
        sorted.reserveCapacity(entries.count)
        for (key, slot) in entries { sorted.append((CRDTCoding.sortKey(key), key, slot)) }
        sorted.sort { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
        try writer.array(sorted) { w, e in
            w.raw(#"{"key":"#)
            try w.value(e.key)
            w.raw(#","values":"#)
            try w.array(e.slot.tags) { w, t in
                w.raw(#"{"dot":"#)
                try t.dot.write(to: &w)
                w.raw(#","value":"#)
                try w.value(t.value)
                w.raw("}")
            }
            w.raw("}")
        }
        writer.raw("}")
    }

    /// The fast form of `init(from:)`.
    static func read(from reader: inout JSONReader) throws -> DotStore {
        var context = CausalContext()
        var listed: [(key: Key, values: [Tagged])] = []
        try reader.readFields(["context", "entries"]) { r, k in
            if k == 0 {
                context = try CausalContext.read(from: &r)
                return
            }
            try r.readArray { r, _ in
                var key: Key?
                var values: [Tagged]?
                try r.readFields(["key", "values"]) { r, k in
                    if k == 0 {
                        key = try r.read(Key.self)
                        return
                    }
                    var list: [Tagged] = []
                    try r.readArray { r, _ in
                        var dot: Dot?, value: Value?
                        try r.readFields(["dot", "value"]) { r, k in
                            if k == 0 { dot = try Dot.read(from: &r) } else { value = try r.read(Value.self) }
                        }
                        guard let dot, let value else { throw r.error("key 'dot' not found") }
                        list.append(Tagged(dot: dot, value: value))
                    }
                    values = list
                }
                guard let key, let values else { throw r.error("key 'key' not found") }
                listed.append((key, values))
            }
        }
        return DotStore(context: context, entries: listed)
    }

    @usableFromInline
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(context, forKey: .context)
        let sorted = entries.map { (CRDTCoding.sortKey($0.key), Entry(key: $0.key, values: $0.value.tags)) }
            .sorted { $0.0.lexicographicallyPrecedes($1.0) }
            .map(\.1)
        try c.encode(sorted, forKey: .entries)
    }
}
