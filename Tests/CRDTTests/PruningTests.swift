import Testing
@testable import CRDT

/// The pruning protocol: once `gone` has left and every replica has its updates, one owner prunes
/// (collapsing `gone` into itself) and the others clean up; afterwards all agree, with no entry
/// naming `gone`, and stale data from before the prune (cleaned on arrival) changes nothing.
@Suite("Removed-node pruning")
struct PruningTests {
    func check<T: DeltaReplicatedData>(_ converged: T, stale: T, read: (T) -> String) {
        var owner = converged
        var other = converged
        #expect(owner.needsPruning(from: "gone"))
        owner.prune(removed: "gone", into: "a")
        other.pruningCleanup(removed: "gone")
        other.merge(owner)
        owner.merge(other)
        #expect(owner == other)
        #expect(!owner.needsPruning(from: "gone"))
        #expect(read(owner) == read(converged))
        var cleanedStale = stale
        cleanedStale.pruningCleanup(removed: "gone")
        #expect(owner.merging(cleanedStale) == owner)
    }

    @Test func gCounter() {
        var g = GCounter()
        g.increment(by: 3, at: "a")
        g.increment(by: 4, at: "gone")
        g.increment(by: 5, at: "b")
        check(g, stale: g) { "\($0.value)" }
    }

    @Test func pnCounter() {
        var p = PNCounter()
        p.increment(by: 3, at: "a")
        p.increment(by: -7, at: "gone")
        check(p, stale: p) { "\($0.value)" }
    }

    @Test func orSet() {
        var s = ORSet<String>()
        s.add("x", by: "gone")
        s.add("y", by: "b")
        s.add("z", by: "gone")
        s.remove("z")
        check(s, stale: s) { "\($0.elements.sorted())" }
    }

    @Test func mvRegister() {
        var a = MVRegister<Int>(), b = MVRegister<Int>()
        a.set(1, by: "gone")
        b.set(2, by: "b")
        let m = a.merging(b)
        check(m, stale: a) { "\(Set($0.values).sorted())" }
    }

    @Test func orMapWithNestedCounters() {
        var m = ORMap<GCounter>()
        m.update("k", by: "gone", initial: GCounter()) { $0.increment(by: 2, at: "gone") }
        m.update("j", by: "b", initial: GCounter()) { $0.increment(by: 1, at: "b") }
        check(m, stale: m) { m in m.keys.map { "\($0)=\(m[$0]?.value ?? 0)" }.joined(separator: ",") }
    }

    @Test func versionVector() {
        var v = VersionVector()
        v.increment("gone")
        v.increment("a")
        var pruned = v
        pruned.prune(removed: "gone", into: "a")
        #expect(pruned["gone"] == 0 && pruned["a"] == 2)
        var cleaned = v
        cleaned.pruningCleanup(removed: "gone")
        #expect(cleaned.compare(pruned) == .before)
    }
}
