import Foundation
@testable import CRDT

typealias Value = ReplicatedValue<String>
typealias TestReplicator = Replicator<Value>

/// An in-test network for replicators: seeded loss, duplication, random delay (so reordering) and
/// partitions, on a manual clock. Every message crosses as bytes through the defensive decoder.
struct ReplicationSimulation {
    struct InFlight {
        let deliverAt: Int64
        let order: Int
        let from: ReplicaID
        let to: ReplicaID
        let bytes: Data
    }

    var rng: SeededRandom
    var nodes: [ReplicaID: TestReplicator] = [:]
    var down: Set<ReplicaID> = []
    var inFlight: [InFlight] = []
    var now: Int64 = 0
    var loss = 0.0
    var duplication = 0.0
    var maxDelay: Int64 = 50
    /// When set, messages between the two sides are dropped.
    var partition: Set<ReplicaID>?
    var rejections: [ReplicationDecodeError] = []
    var sent = 0
    var largestMessage = 0
    private var order = 0

    init(seed: UInt64, nodes ids: [ReplicaID], settings: ReplicatorSettings = ReplicatorSettings()) {
        rng = SeededRandom(seed: seed)
        for id in ids { nodes[id] = TestReplicator(me: id, epoch: 1, settings: settings) }
        let all = Set(ids)
        for id in ids.sorted() { handle(nodes[id]?.peersChanged(all, now: 0) ?? [], at: id) }
    }

    var live: [ReplicaID] { nodes.keys.filter { !down.contains($0) }.sorted() }

    mutating func handle(_ directives: [TestReplicator.Directive], at node: ReplicaID) {
        for d in directives {
            switch d {
            case .send(let to, _, let bytes):
                sent += 1
                largestMessage = max(largestMessage, bytes.count)
                if let side = partition, side.contains(node) != side.contains(to) { continue }
                if rng.chance(loss) { continue }
                enqueue(from: node, to: to, bytes: bytes)
                if rng.chance(duplication) { enqueue(from: node, to: to, bytes: bytes) }
            case .rejected(_, let error):
                rejections.append(error)
            case .updated, .tooLarge:
                break
            }
        }
    }

    private mutating func enqueue(from: ReplicaID, to: ReplicaID, bytes: Data) {
        order += 1
        let delay = Int64(rng.int(0...Int(maxDelay)))
        inFlight.append(InFlight(deliverAt: now + delay, order: order, from: from, to: to, bytes: bytes))
    }

    /// Advances the clock by `ms`, ticks every live node, delivers what is due.
    mutating func step(_ ms: Int64 = 10) {
        now += ms
        for id in live {
            if let out = nodes[id]?.tick(now: now) { handle(out, at: id) }
        }
        let due = inFlight.filter { $0.deliverAt <= now }.sorted { ($0.deliverAt, $0.order) < ($1.deliverAt, $1.order) }
        inFlight.removeAll { $0.deliverAt <= now }
        for m in due where !down.contains(m.to) {
            if let out = nodes[m.to]?.receive(bytes: m.bytes, from: m.from, now: now) { handle(out, at: m.to) }
        }
    }

    mutating func update(_ id: ReplicaID, _ key: String, empty: Value, _ body: (inout Value) -> Void) {
        nodes[id]?.update(key, empty: empty, body)
    }

    /// Whether every live node holds equal values.
    var converged: Bool {
        let states = live.compactMap { nodes[$0]?.values }
        return states.dropFirst().allSatisfy { $0 == states.first }
    }

    /// Steps until converged, at most `limit` steps; returns the steps taken or nil.
    mutating func runUntilConverged(limit: Int) -> Int? {
        for i in 0..<limit {
            if converged && inFlight.isEmpty { return i }
            step()
        }
        return converged ? limit : nil
    }

    /// A random write on `id`; returns the counter increment it made (0 if none).
    mutating func randomWrite(on id: ReplicaID) -> Int64 {
        switch rng.int(0...3) {
        case 0:
            let by = Int64(rng.int(-2...5))
            update(id, "hits", empty: .counter(PNCounter())) { v in
                if case .counter(var c) = v { c.increment(by: by, at: id); v = .counter(c) }
            }
            return by
        case 1:
            let e = "m\(rng.int(0...5))", remove = rng.chance(0.3)
            update(id, "tags", empty: .set(ORSet())) { v in
                guard case .set(var s) = v else { return }
                if remove { s.remove(e) } else { s.add(e, by: id) }
                v = .set(s)
            }
        default:
            let key = "k\(rng.int(0...20))", wall = now, del = rng.chance(0.2), n = rng.int(0...99)
            let ttl: Int64? = rng.chance(0.2) ? wall + 5_000 : nil
            update(id, "map\(rng.int(0...2))", empty: .map(LWWMap())) { v in
                guard case .map(var m) = v else { return }
                if del { m.delete(key, wall: wall, by: id) } else { m.set(key, "v\(n)", expiresAt: ttl, wall: wall, by: id) }
                v = .map(m)
            }
        }
        return 0
    }

    func counter(_ id: ReplicaID) -> Int64? {
        if case .counter(let c) = nodes[id]?.values["hits"] { return c.value }
        return nil
    }

    func tags(_ id: ReplicaID) -> Set<String>? {
        if case .set(let s) = nodes[id]?.values["tags"] { return s.elements }
        return nil
    }
}
