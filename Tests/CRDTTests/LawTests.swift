import Testing
@testable import CRDT

@Suite("CRDT laws over seeded random operations")
struct LawTests {
    @Test func versionVector() throws {
        try checkLaws(VersionVector.self, empty: VersionVector()) { s, r, _ in s.increment(r) }
    }

    @Test func gCounter() throws {
        try checkLaws(GCounter.self, empty: GCounter()) { s, r, rng in
            s.increment(by: UInt64(rng.int(1...5)), at: r)
        }
    }

    @Test func pnCounter() throws {
        try checkLaws(PNCounter.self, empty: PNCounter()) { s, r, rng in
            s.increment(by: Int64(rng.int(-5...5)), at: r)
        }
    }

    @Test func lwwRegister() throws {
        let start = LWWRegister(0, timestamp: HLC.zero("init"))
        try checkLaws(LWWRegister<Int>.self, empty: start) { s, r, rng in
            s.set(rng.int(0...9), wall: Int64(rng.int(0...5)), by: r)
        }
    }

    @Test func mvRegister() throws {
        try checkLaws(MVRegister<Int>.self, empty: MVRegister()) { s, r, rng in
            if rng.chance(0.15) { s.clear() } else { s.set(rng.int(0...9), by: r) }
        }
    }

    @Test func orSet() throws {
        try checkLaws(ORSet<Int>.self, empty: ORSet()) { s, r, rng in
            let e = rng.int(0...5)
            if rng.chance(0.4) { s.remove(e) } else { s.add(e, by: r) }
        }
    }

    @Test func orMapOfCounters() throws {
        try checkLaws(ORMap<PNCounter>.self, empty: ORMap()) { s, r, rng in
            let key = "k\(rng.int(0...3))"
            if rng.chance(0.3) {
                s.remove(key)
            } else {
                let by = Int64(rng.int(-3...3))
                s.update(key, by: r, initial: PNCounter()) { $0.increment(by: by, at: r) }
            }
        }
    }

    @Test func orMapOfSets() throws {
        try checkLaws(ORMap<ORSet<String>>.self, empty: ORMap()) { s, r, rng in
            let key = "k\(rng.int(0...2))"
            let e = "e\(rng.int(0...3))"
            switch rng.int(0...3) {
            case 0: s.remove(key)
            case 1: s.update(key, by: r, initial: ORSet()) { $0.remove(e) }
            default: s.update(key, by: r, initial: ORSet()) { $0.add(e, by: r) }
            }
        }
    }

    @Test func lwwMap() throws {
        try checkLaws(LWWMap<Int>.self, empty: LWWMap()) { s, r, rng in
            let key = "k\(rng.int(0...4))"
            let wall = Int64(rng.int(0...8))
            if rng.chance(0.3) {
                s.delete(key, wall: wall, by: r)
            } else {
                let ttl: Int64? = rng.chance(0.3) ? wall + Int64(rng.int(1...5)) : nil
                s.set(key, rng.int(0...9), expiresAt: ttl, wall: wall, by: r)
            }
        }
    }

    @Test func replicatedValue() throws {
        try checkLaws(ReplicatedValue<String>.self, empty: .counter(PNCounter())) { s, r, rng in
            switch (s, rng.int(0...9)) {
            case (.counter, 0):
                // A concurrent write of another kind; a fresh writer id keeps its dots unique.
                var set = ORSet<String>()
                set.add("x\(rng.int(0...2))", by: ReplicaID("\(r)-\(rng.next())"))
                s.mergeDelta(.set(set))
            case (.counter(var c), _):
                c.increment(by: Int64(rng.int(-2...4)), at: r)
                s = .counter(c)
            case (.set(var set), _):
                set.add("x\(rng.int(0...2))", by: r)
                s = .set(set)
            default:
                break
            }
        }
    }
}
