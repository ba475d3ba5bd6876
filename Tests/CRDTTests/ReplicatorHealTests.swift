import Foundation
import Testing
@testable import CRDT

/// The heal after a partition long enough for membership to drop the far side (docs/replication.md,
/// "Figure"): peers are removed, both sides write, peers are re-added at different moments the way
/// gossip re-admits them, and anti-entropy must converge in a few rounds without resending the same
/// values over and over while earlier transfers are still in flight.
@Suite("Replicator heal after peers were dropped and re-added")
struct ReplicatorHealTests {
    let ids: [ReplicaID] = ["n1", "n2", "n3"]

    /// The node's tuning: 100 ms ticks, anti-entropy every 300 ms, resend after 500 ms.
    var nodeSettings: ReplicatorSettings {
        var s = ReplicatorSettings()
        s.antiEntropyInterval = 300
        s.resendAfter = 500
        return s
    }


    /// A small network on a manual clock that counts what crosses it: every message is delayed by
    /// a seeded 0...`maxDelay` ms and crosses as bytes through the defensive decoder.
    struct Net {
        var rng = SeededRandom(seed: 3)
        var nodes: [ReplicaID: TestReplicator] = [:]
        var inFlight: [(at: Int64, order: Int, from: ReplicaID, to: ReplicaID, bytes: Data)] = []
        var now: Int64 = 0
        var maxDelay: Int64 = 400
        var isolated: Set<ReplicaID> = []
        /// When set, messages across the cut are held and delivered on the heal, as a NATS
        /// client's reconnect buffer delivers what was published while disconnected.
        var holdAcrossCut = false
        var held: [(from: ReplicaID, to: ReplicaID, bytes: Data)] = []
        var messages = 0, bytes = 0, order = 0
        var kinds: [String: (count: Int, bytes: Int)] = [:]
        var rejections = 0

        mutating func handle(_ out: [TestReplicator.Directive], at node: ReplicaID) {
            for d in out {
                switch d {
                case .send(let to, let message, let b):
                    if isolated.contains(node) != isolated.contains(to) {
                        if holdAcrossCut { held.append((node, to, b)) }
                        continue
                    }
                    messages += 1
                    bytes += b.count
                    let kind = String("\(message.body)".prefix { $0 != "(" })
                    kinds[kind, default: (0, 0)].count += 1
                    kinds[kind, default: (0, 0)].bytes += b.count
                    order += 1
                    inFlight.append((now + Int64(rng.int(0...Int(maxDelay))), order, node, to, b))
                case .rejected: rejections += 1
                case .updated, .tooLarge: break
                }
            }
        }

        mutating func peersChanged(_ id: ReplicaID, _ peers: Set<ReplicaID>) {
            handle(nodes[id]?.peersChanged(peers, now: now) ?? [], at: id)
        }

        /// One 100 ms tick of every node, then delivery of what is due.
        mutating func tick() {
            now += 100
            for id in nodes.keys.sorted() { handle(nodes[id]?.tick(now: now) ?? [], at: id) }
            let due = inFlight.filter { $0.at <= now }.sorted { ($0.at, $0.order) < ($1.at, $1.order) }
            inFlight.removeAll { $0.at <= now }
            for m in due {
                handle(nodes[m.to]?.receive(bytes: m.bytes, from: m.from, now: now) ?? [], at: m.to)
            }
        }

        /// Ends the cut; what was held arrives first, in order.
        mutating func heal() {
            isolated = []
            for h in held {
                order += 1
                inFlight.append((now, order, h.from, h.to, h.bytes))
            }
            held = []
        }

        var converged: Bool {
            let states = nodes.keys.sorted().compactMap { nodes[$0]?.values }
            return states.dropFirst().allSatisfy { $0 == states.first }
        }

        /// Gossip re-admits `all` as peers on each of `order`, one node per tick, then ticks until
        /// converged (at most 200 ticks in all); returns the ticks taken.
        mutating func readmit(_ order: [ReplicaID], all: Set<ReplicaID>) -> Int {
            var ticks = 0
            for id in order {
                peersChanged(id, all)
                tick()
                ticks += 1
            }
            while ticks < 200, !converged {
                tick()
                ticks += 1
            }
            return ticks
        }
    }

    @Test func tenThousandKeysConvergeInAFewRoundsAfterReAdmission() {
        var net = Net()
        startAll(&net)
        let keys = 10_000
        // The partition outlasts failure detection: membership drops the far side.
        net.isolated = ["n3"]
        for _ in 0..<3 { net.tick() }
        net.peersChanged("n1", ["n1", "n2"])
        net.peersChanged("n2", ["n1", "n2"])
        net.peersChanged("n3", ["n3"])
        for i in 0..<keys {
            writeDuringThePartition(&net, i)
            if i % 250 == 0 { net.tick() }
        }
        for _ in 0..<10 { net.tick() }
        // Heal: gossip re-admits the members at different moments on each node.
        net.isolated = []
        net.messages = 0
        net.bytes = 0
        net.kinds = [:]
        let ticks = net.readmit(["n3", "n1", "n2"], all: Set(ids))
        let oneCopy = net.nodes["n1"]?.values.reduce(0) {
            $0 + $1.key.utf8.count + ((try? CRDTCoding.encode($1.value))?.count ?? 0)
        } ?? 0
        print("heal: \(ticks) ticks, \(net.messages) messages, \(net.bytes) bytes, one copy \(oneCopy) bytes, \(net.kinds)")
        #expect(net.converged)
        #expect(net.nodes["n1"]?.values.count == keys)
        #expect(ticks <= 10, "took \(ticks) ticks of 100 ms")
        // Each side lacks half the keys and two peers may each send them: about two copies must cross, not five.
        #expect(net.bytes <= 4 * oneCopy, "sent \(net.bytes) bytes; one full copy is \(oneCopy)")
        #expect(net.rejections == 0)
    }

    /// The bench's real course (docs/replication.md, "Heal"): the cut-off node's failure detector
    /// is stretched (it blames itself), so it keeps its peers for the whole partition while they
    /// drop it, and what it sends them is held in its NATS client's reconnect buffer and delivered
    /// at once on the heal. It must not pile up a resend of its whole growing backlog every tick:
    /// silent peers get no deltas, so the held bytes stay bounded, and the heal converges in a
    /// few rounds.
    @Test func aCutOffNodeThatKeepsItsPeersQueuesLittleAndConverges() {
        var net = Net()
        net.holdAcrossCut = true
        startAll(&net)
        let keys = 4_000
        net.isolated = ["n3"]
        for _ in 0..<3 { net.tick() }
        net.peersChanged("n1", ["n1", "n2"])
        net.peersChanged("n2", ["n1", "n2"])
        var written = 0
        for i in 0..<keys {
            let node = writeDuringThePartition(&net, i)
            if node == "n3", let v = net.nodes[node]?.values["shared/key-\(i)"] {
                written += ("shared/key-\(i)".utf8.count + ((try? CRDTCoding.encode(v))?.count ?? 0))
            }
            // 200 ticks of writes: 20 s, far longer than the resend backoff.
            if i % 20 == 0 { net.tick() }
        }
        let heldBytes = net.held.reduce(0) { $0 + $1.bytes.count }
        // Each of n3's two peers got its first deltas once, a few bounded resends, and digests:
        // not a resend of the whole backlog every tick (which was over 40 times what was written).
        #expect(heldBytes <= 2 * 3 * written, "held \(heldBytes) bytes; n3 wrote \(written)")
        net.heal()
        let ticks = net.readmit(["n1", "n2"], all: Set(ids))
        #expect(net.converged)
        #expect(net.nodes["n1"]?.values.count == keys)
        #expect(ticks <= 10, "took \(ticks) ticks of 100 ms")
        #expect(net.rejections == 0)
    }

    /// Every node started, knowing every other, and a few quiet rounds.
    private func startAll(_ net: inout Net) {
        for id in ids { net.nodes[id] = TestReplicator(me: id, epoch: 1, settings: nodeSettings) }
        for id in ids { net.peersChanged(id, Set(ids)) }
        for _ in 0..<5 { net.tick() }
    }

    /// Key `i` written on its side of the partition (odd keys on n3, the rest on n1 or n2);
    /// returns the writer.
    @discardableResult
    private func writeDuringThePartition(_ net: inout Net, _ i: Int) -> ReplicaID {
        let node: ReplicaID = i % 2 == 1 ? "n3" : (i % 4 == 0 ? "n1" : "n2")
        net.nodes[node]?.update("shared/key-\(i)", empty: .register(LWWRegister("", timestamp: .zero(node)))) { v in
            if case .register(var r) = v { r.set("value-\(i)-written-during-the-partition", wall: Int64(i), by: node); v = .register(r) }
        }
        return node
    }
}
