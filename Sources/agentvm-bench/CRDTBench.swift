import ClusterCore
import CRDT
import Foundation

/// The in-memory CRDT figures: merge throughput and delta versus full-state size. The heal
/// convergence figure needs real nodes and is measured elsewhere.
enum CRDTBench {
    static let keys = 100_000

    /// Prints `NAME VALUE` lines.
    static func run() {
        print("lww_merges_per_s \(lwwMergesPerSecond())")
        print("orset_merges_per_s \(orSetMergesPerSecond())")
        let (delta, full) = deltaAndFullBytes()
        print("delta_bytes_1pct \(delta)")
        print("full_bytes \(full)")
        print("bytes_per_key \(full / keys)")
        let (decodeRate, messageBytes) = stateDecode()
        print("state_decode_entries_per_s \(decodeRate)")
        print("state_decode_message_bytes \(messageBytes)")
    }

    /// Entries per second decoding a state message of 5,000 memory keys as a heal brings them
    /// (each key a one-entry `LWWMap<JSONValue>` holding a number, as `memory set` writes it), and
    /// the message's size. The best of a few runs; -1 if the message does not decode.
    static func stateDecode(entries: Int = 5_000, runs: Int = 5) -> (Int, Int) {
        typealias Value = ReplicatedValue<JSONValue>
        var values: [String: Value] = [:]
        for i in 0..<entries {
            var m = LWWMap<JSONValue>()
            m.set("", .number(Double(i)), expiresAt: nil, wall: 1_700_000_000_000 + Int64(i), by: ReplicaID("node-\(i % 3)"))
            m.resetDelta()
            values["shared/k\(i % 2)-\(i)"] = .map(m)
        }
        guard let bytes = try? ReplicationMessage<Value>(.state(covers: nil, entries: values)).encoded() else { return (-1, 0) }
        var best = Duration.seconds(1_000)
        for _ in 0..<runs {
            let clock = ContinuousClock()
            var ok = false
            let elapsed = clock.measure { ok = (try? ReplicationMessage<Value>.decode(bytes, limit: .max)) != nil }
            guard ok else { return (-1, bytes.count) }
            best = min(best, elapsed)
        }
        let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
        return (seconds > 0 ? Int(Double(entries) / seconds) : 0, bytes.count)
    }

    /// Best of a few runs merging `source`, as a peer's replica receives it, into a private copy of
    /// `target` (copied before the clock starts, so the copy-on-write is not counted), as entries
    /// per second; -1 if the source does not round-trip.
    private static func rate<T: ReplicatedData>(entries: Int, runs: Int = 5, target: T, source: T,
                                                unique: (inout T) -> Void) -> Int {
        // Decoded, the source's hash table is laid out afresh, as a received state's is. A copy of a
        // local value would share the target's layout and turn the merge's random lookups into a
        // sequential walk.
        guard let source = try? CRDTCoding.decode(T.self, from: CRDTCoding.encode(source)) else { return -1 }
        var best = Duration.seconds(1_000)
        for _ in 0..<runs {
            var copy = target
            unique(&copy)
            let clock = ContinuousClock()
            let elapsed = clock.measure { copy.merge(source) }
            best = min(best, elapsed)
            if copy == target { return 0 }
        }
        let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
        return seconds > 0 ? Int(Double(entries) / seconds) : 0
    }

    private static func key(_ i: Int) -> String { "key-\(i)" }

    // Both merge figures use the same history, the one anti-entropy or a catch-up after a partition
    // meets: replica a writes 100,000 keys and b receives them all; then, apart, a rewrites every
    // fourth key and deletes every tenth, while b rewrites another fourth (concurrently with a's
    // rewrites on a tenth of them) and writes 50,000 keys of its own. Merging b's full state into a
    // therefore resolves equal, concurrent, removed and new entries, inserts 50,000 keys and grows
    // a's table. The figure counts b's entries (every key b sends), not a's.

    /// Entries per second merging such a 150,000-key `LWWMap` into a 100,000-key one.
    static func lwwMergesPerSecond() -> Int {
        var a = LWWMap<String>()
        for i in 0..<keys { a.set(key(i), "v-\(i)", wall: 1, by: "node-a") }
        var b = a
        for i in 0..<keys {
            if i % 4 == 0 { a.set(key(i), "a-\(i)", wall: 2, by: "node-a") }
            if i % 10 == 5 { a.delete(key(i), wall: 2, by: "node-a") }
            if i % 4 == 1 || i % 40 == 0 { b.set(key(i), "b-\(i)", wall: 2, by: "node-b") }
        }
        for i in keys..<(keys + keys / 2) { b.set(key(i), "b-\(i)", wall: 2, by: "node-b") }
        a.resetDelta()
        b.resetDelta()
        return rate(entries: b.entries.count, target: a, source: b) { $0.set("unique", "x", wall: 0, by: "bench") }
    }

    /// Entries per second merging such a 145,000-element `ORSet` into a 90,000-element one:
    /// elements re-added on one side, removed on the other, added concurrently on both, or new.
    static func orSetMergesPerSecond() -> Int {
        var a = ORSet<String>()
        for i in 0..<keys { a.add(key(i), by: "node-a") }
        var b = a
        for i in 0..<keys {
            if i % 4 == 0 { a.add(key(i), by: "node-a") }
            if i % 10 == 5 { a.remove(key(i)) }
            if i % 4 == 1 || i % 40 == 0 { b.add(key(i), by: "node-b") }
            if i % 10 == 7 { b.remove(key(i)) }
        }
        for i in keys..<(keys + keys / 2) { b.add(key(i), by: "node-b") }
        a.resetDelta()
        b.resetDelta()
        return rate(entries: b.count, target: a, source: b) { $0.add("unique", by: "bench") }
    }

    /// The encoded size of the delta of a 1% change to a 100,000-key map, and of the full map.
    static func deltaAndFullBytes() -> (Int, Int) {
        var m = LWWMap<String>()
        for i in 0..<keys { m.set(key(i), "value-\(i)", wall: 1_700_000_000_000, by: "node-a") }
        m.resetDelta()
        for i in stride(from: 0, to: keys, by: 100) {
            m.set(key(i), "changed-\(i)", wall: 1_700_000_001_000, by: "node-b")
        }
        let delta = m.delta.flatMap { try? CRDTCoding.encode($0).count } ?? -1
        let full = (try? CRDTCoding.encode(m).count) ?? -1
        return (delta, full)
    }
}
