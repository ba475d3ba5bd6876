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
    }

    /// Best of a few runs merging `source` into a private copy of `target` (copied before the clock
    /// starts, so the copy-on-write is not counted), as entries per second.
    private static func rate<T: ReplicatedData>(entries: Int, runs: Int = 5, target: T, source: T,
                                                unique: (inout T) -> Void) -> Int {
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

    /// Two 100,000-key maps written by different replicas, every key concurrent: merging one into
    /// the other compares and resolves every entry.
    static func lwwMergesPerSecond() -> Int {
        var a = LWWMap<String>(), b = LWWMap<String>()
        for i in 0..<keys {
            a.set(key(i), "a-\(i)", wall: Int64(i % 2 == 0 ? 1 : 2), by: "node-a")
            b.set(key(i), "b-\(i)", wall: Int64(i % 2 == 0 ? 2 : 1), by: "node-b")
        }
        a.resetDelta()
        b.resetDelta()
        return rate(entries: keys, target: a, source: b) { $0.set("unique", "x", wall: 0, by: "bench") }
    }

    /// Two 100,000-element sets, half the elements shared, each side with adds the other has not
    /// seen and removes: a full-state merge resolves every element's dots.
    static func orSetMergesPerSecond() -> Int {
        var a = ORSet<String>(), b = ORSet<String>()
        for i in 0..<keys {
            a.add(key(i), by: "node-a")
            b.add(key(i + keys / 2), by: "node-b")
        }
        for i in stride(from: 0, to: keys, by: 10) {
            a.remove(key(i))
        }
        a.resetDelta()
        b.resetDelta()
        return rate(entries: keys, target: a, source: b) { $0.add("unique", by: "bench") }
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
