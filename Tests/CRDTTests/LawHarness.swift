import Foundation
import Testing
@testable import CRDT

/// The replica ids every property case uses.
let lawReplicas: [ReplicaID] = ["a", "b", "c"]

/// Runs `cases` seeded scenarios for one type: three replicas make random local operations
/// (recording each delta) and now and then merge each other's full states, so histories are
/// concurrent. Then the laws are checked on the final states and the recorded deltas.
func checkLaws<T: DeltaReplicatedData>(
    _ type: T.Type, cases: Int = 200, steps: Int = 24, empty: T,
    operation: (inout T, ReplicaID, inout SeededRandom) -> Void
) throws {
    for seed in 0..<UInt64(cases) {
        var rng = SeededRandom(seed: seed)
        var states = lawReplicas.map { _ in empty }
        var deltas: [T] = []
        for _ in 0..<steps {
            let i = rng.int(0...(states.count - 1))
            if rng.chance(0.2) {
                let j = rng.int(0...(states.count - 1))
                states[i].merge(states[j])
            } else {
                operation(&states[i], lawReplicas[i], &rng)
                if let d = states[i].delta { deltas.append(d) }
                states[i].resetDelta()
            }
        }
        let (a, b, c) = (states[0], states[1], states[2])

        // Join laws, on values and on bytes.
        #expect(a.merging(b) == b.merging(a), "commutative, seed \(seed)")
        #expect(try CRDTCoding.encode(a.merging(b)) == CRDTCoding.encode(b.merging(a)), "commutative bytes, seed \(seed)")
        #expect(a.merging(b).merging(c) == a.merging(b.merging(c)), "associative, seed \(seed)")
        #expect(a.merging(a) == a, "idempotent, seed \(seed)")
        #expect(a.merging(b).merging(b) == a.merging(b), "idempotent after join, seed \(seed)")

        // Encoding round-trips and is deterministic.
        for s in states {
            let bytes = try CRDTCoding.encode(s)
            let back = try CRDTCoding.decode(T.self, from: bytes)
            #expect(back == s, "round-trip, seed \(seed)")
            #expect(try CRDTCoding.encode(back) == bytes, "re-encoding, seed \(seed)")
        }

        // Deltas, in any order and with duplicates, equal the join of the full states.
        let full = a.merging(b).merging(c)
        var viaDeltas = empty
        for d in deltas { viaDeltas.mergeDelta(d) }
        #expect(viaDeltas == full, "deltas equal full states, seed \(seed)")

        var shuffled = deltas + deltas.filter { _ in rng.chance(0.3) }
        shuffled.shuffle(using: &rng)
        var other = empty
        for d in shuffled { other.mergeDelta(d) }
        #expect(other == full, "any order with duplicates, seed \(seed)")
        #expect(try CRDTCoding.encode(other) == CRDTCoding.encode(full), "equal bytes, seed \(seed)")

        // Full states merged in any order end equal too.
        var perm = states
        perm.shuffle(using: &rng)
        #expect(perm.reduce(empty) { $0.merging($1) } == full, "state order, seed \(seed)")
    }
}
