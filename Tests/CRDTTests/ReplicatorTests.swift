import Foundation
import Testing
@testable import CRDT

@Suite("Replicator under loss, duplication, reordering, partitions")
struct ReplicatorTests {
    let ids: [ReplicaID] = ["n0", "n1", "n2", "n3", "n4"]

    @Test(arguments: 0..<20)
    func convergesAfterPartitionHeals(seed: Int) {
        var sim = ReplicationSimulation(seed: UInt64(seed), nodes: ids)
        sim.loss = 0.2
        sim.duplication = 0.1
        sim.maxDelay = 120
        var total: Int64 = 0
        for step in 0..<300 {
            if step == 100 { sim.partition = ["n0", "n1"] }
            if step == 200 { sim.partition = nil }
            if sim.rng.chance(0.5) {
                let writer = ids[sim.rng.int(0...(ids.count - 1))]
                total += sim.randomWrite(on: writer)
            }
            sim.step()
        }
        let steps = sim.runUntilConverged(limit: 3_000)
        #expect(steps != nil, "seed \(seed) did not converge")
        #expect(sim.rejections.isEmpty)
        for id in ids { #expect(sim.counter(id) == total, "seed \(seed) node \(id)") }
    }

    @Test func partitionedSidesBothWriteThenConverge() {
        var sim = ReplicationSimulation(seed: 7, nodes: ids)
        sim.partition = ["n0"]
        var total: Int64 = 0
        for _ in 0..<50 {
            total += 1
            sim.update("n0", "hits", empty: .counter(PNCounter())) { v in
                if case .counter(var c) = v { c.increment(by: 1, at: "n0"); v = .counter(c) }
            }
            total += 2
            sim.update("n3", "hits", empty: .counter(PNCounter())) { v in
                if case .counter(var c) = v { c.increment(by: 2, at: "n3"); v = .counter(c) }
            }
            sim.step()
        }
        for _ in 0..<100 { sim.step() }
        #expect(sim.counter("n0") == 50 && sim.counter("n4") == 100)
        sim.partition = nil
        #expect(sim.runUntilConverged(limit: 1_000) != nil)
        for id in ids { #expect(sim.counter(id) == total) }
    }

    @Test func newReplicaCatchesUpByStateTransfer() {
        var settings = ReplicatorSettings()
        settings.maxMessageBytes = 8 * 1024  // forces the transfer into many parts
        var sim = ReplicationSimulation(seed: 11, nodes: Array(ids.prefix(3)), settings: settings)
        for i in 0..<400 {
            let writer = ids[i % 3]
            sim.update(writer, "key\(i)", empty: .register(LWWRegister("", timestamp: .zero(writer)))) { v in
                if case .register(var r) = v { r.set("value-\(i)", wall: Int64(i), by: writer); v = .register(r) }
            }
            if i % 20 == 0 { sim.step() }
        }
        #expect(sim.runUntilConverged(limit: 1_000) != nil)

        let newcomer: ReplicaID = "n9"
        sim.nodes[newcomer] = TestReplicator(me: newcomer, epoch: 1, settings: settings)
        let all = Set(sim.nodes.keys)
        for id in all.sorted() { sim.handle(sim.nodes[id]?.peersChanged(all, now: sim.now) ?? [], at: id) }
        #expect(sim.runUntilConverged(limit: 1_000) != nil)
        #expect(sim.nodes[newcomer]?.values.count == 400)
        #expect(sim.largestMessage <= settings.maxMessageBytes)
    }

    @Test func restartedReplicaCatchesUp() {
        var sim = ReplicationSimulation(seed: 5, nodes: ids)
        sim.loss = 0.1
        var total: Int64 = 0
        for _ in 0..<100 {
            total += sim.randomWrite(on: ids[sim.rng.int(0...4)])
            sim.step()
        }
        #expect(sim.runUntilConverged(limit: 2_000) != nil)
        // n2 goes down, keeping its persisted state; the others keep writing.
        sim.down = ["n2"]
        let persisted = sim.nodes["n2"]?.values ?? [:]
        for _ in 0..<100 {
            total += sim.randomWrite(on: ids[[0, 1, 3, 4][sim.rng.int(0...3)]])
            sim.step()
        }
        sim.down = []
        sim.nodes["n2"] = TestReplicator(me: "n2", epoch: 2, initial: persisted)
        sim.handle(sim.nodes["n2"]?.peersChanged(Set(ids), now: sim.now) ?? [], at: "n2")
        #expect(sim.runUntilConverged(limit: 2_000) != nil)
        for id in ids { #expect(sim.counter(id) == total) }
    }

    @Test func prunedReplicaLeavesNoTrace() {
        let all: [ReplicaID] = ["n0", "n1", "n2", "zz-gone"]
        var sim = ReplicationSimulation(seed: 9, nodes: all)
        sim.loss = 0.1
        var total: Int64 = 0
        for i in 0..<120 {
            total += sim.randomWrite(on: all[i % all.count])
            sim.step()
        }
        #expect(sim.runUntilConverged(limit: 2_000) != nil)
        let before = sim.tags("n0")
        #expect(sim.nodes["n0"]?.values.values.contains { $0.needsPruning(from: "zz-gone") } == true)

        // zz-gone leaves for good (its last messages may still be in flight); every survivor prunes.
        sim.nodes.removeValue(forKey: "zz-gone")
        let rest: Set<ReplicaID> = ["n0", "n1", "n2"]
        for id in rest.sorted() {
            sim.handle(sim.nodes[id]?.peersChanged(rest, now: sim.now) ?? [], at: id)
            sim.nodes[id]?.pruneRemoved("zz-gone")
        }
        #expect(sim.runUntilConverged(limit: 2_000) != nil)
        for id in rest {
            #expect(sim.counter(id) == total)
            #expect(sim.tags(id) == before)
            #expect(sim.nodes[id]?.values.values.allSatisfy { !$0.needsPruning(from: "zz-gone") } == true)
        }
    }

    @Test func aLocalWriteTravelsAsASmallDelta() throws {
        var sim = ReplicationSimulation(seed: 3, nodes: Array(ids.prefix(3)))
        for i in 0..<200 {
            sim.update("n0", "map", empty: .map(LWWMap())) { v in
                if case .map(var m) = v { m.set("k\(i)", "v", wall: 1, by: "n0"); v = .map(m) }
            }
        }
        #expect(sim.runUntilConverged(limit: 500) != nil)
        var r = try #require(sim.nodes["n0"])
        r.update("map", empty: .map(LWWMap())) { v in
            if case .map(var m) = v { m.set("k1", "changed", wall: 2, by: "n0"); v = .map(m) }
        }
        let out = r.tick(now: sim.now + 10)
        let deltas = out.compactMap { d -> Int? in
            guard case .send(_, let message, let bytes) = d, case .deltas(_, _, _, true, let entries) = message.body,
                  case .map(let m) = entries["map"] else { return nil }
            #expect(m.entries.count == 1)
            return bytes.count
        }
        #expect(deltas.count == 2)
        #expect(deltas.allSatisfy { $0 < 400 })
    }
}

@Suite("Replication messages are decoded defensively")
struct ReplicationMessageTests {
    typealias Message = ReplicationMessage<Value>

    @Test func roundTrips() throws {
        var c = PNCounter()
        c.increment(by: 3, at: "a")
        let bodies: [Message.Body] = [
            .deltas(epoch: 1, from: 1, to: 2, last: true, entries: ["k": .counter(c)]),
            .ack(epoch: 1, seq: 2),
            .state(covers: SequenceMark(epoch: 1, seq: 2), entries: ["k": .counter(c)]),
            .digest(buckets: [1, 2, 3]),
            .keyDigest(buckets: [0], hashes: ["k": 9]),
            .request(keys: ["k"]),
        ]
        for body in bodies {
            let m = Message(body)
            #expect(try Message.decode(m.encoded(), limit: 1 << 20) == m)
        }
    }

    /// Transfers splice the values' kept encodings; the bytes must decode to the same message as
    /// the encoder's, whatever the keys hold.
    @Test func splicedEntriesDecodeLikeEncodedOnes() throws {
        var c = PNCounter()
        c.increment(by: 3, at: "a")
        let keys = ["plain", "quote\"d", "back\\slash", "new\nline\u{1}", "ünï/cödé", "", "slash/es"]
        var entries: [String: Value] = [:]
        for (i, k) in keys.enumerated() {
            var r = LWWRegister("v\(i) \"quoted\" \\", timestamp: .zero("a"))
            r.set("value \(i)", wall: Int64(i), by: "a")
            entries[k] = i % 2 == 0 ? .counter(c) : .register(r)
        }
        let spliced = try keys.sorted().map { SplicedEntries.Entry(key: $0, bytes: try CRDTCoding.encode(entries[$0])) }
        let cases: [(SplicedEntries.Header, Message.Body)] = [
            (.deltas(epoch: 7, from: 2, to: 5, last: false), .deltas(epoch: 7, from: 2, to: 5, last: false, entries: entries)),
            (.state(covers: SequenceMark(epoch: 7, seq: 9)), .state(covers: SequenceMark(epoch: 7, seq: 9), entries: entries)),
            (.state(covers: nil), .state(covers: nil, entries: entries)),
            (.state(covers: nil), .state(covers: nil, entries: [:])),
        ]
        for (header, body) in cases {
            let bytes = SplicedEntries.encode(header, { if case .state(_, let e) = body, e.isEmpty { return [] }; return spliced }())
            #expect(try Message.decode(bytes, limit: 1 << 20) == Message(body))
            #expect(bytes.count <= (try Message(body).encoded().count) + SplicedEntries.envelopeBytes)
        }
    }

    /// Entries located without decoding: hashes match the replicator's, and cutting some out
    /// leaves a message that decodes to the rest.
    @Test func entryIndexFindsAndCutsEntries() throws {
        var r = TestReplicator(me: "a", epoch: 1)
        let keys = ["plain", "quote\"d", "back\\slash", "new\nline", "ünï/cödé", "x"]
        for (i, k) in keys.enumerated() {
            r.update(k, empty: .register(LWWRegister("", timestamp: .zero("a")))) { v in
                if case .register(var reg) = v { reg.set("v\(i) {\"entries\":{}} ]", wall: Int64(i + 1), by: "a"); v = .register(reg) }
            }
        }
        var entries: [String: Value] = [:]
        for k in keys { entries[k] = r[k] }
        let encoded = try Message(.state(covers: SequenceMark(epoch: 1, seq: 2), entries: entries)).encoded()
        let spliced = try SplicedEntries.encode(.deltas(epoch: 1, from: 1, to: 2, last: true),
                                                keys.sorted().map { SplicedEntries.Entry(key: $0, bytes: try CRDTCoding.encode(entries[$0])) })
        for bytes in [encoded, spliced] {
            let index = try #require(EntryIndex(message: bytes))
            #expect(Set(index.keys) == Set(keys))
            for (i, k) in index.keys.enumerated() {
                let held = r.holds(k, hash: index.hashes[i])
                #expect(held, "\(k)")
            }
            let drop = Set(index.keys.indices.filter { $0 % 2 == 0 })
            let cut = try Message.decode(index.removing(drop, from: bytes), limit: 1 << 20)
            let kept = Set(index.keys.indices.filter { !drop.contains($0) }.map { index.keys[$0] })
            switch cut.body {
            case .state(let covers, let e): #expect(Set(e.keys) == kept && covers == SequenceMark(epoch: 1, seq: 2))
            case .deltas(_, _, _, let last, let e): #expect(Set(e.keys) == kept && last)
            default: Issue.record("wrong kind \(cut.body)")
            }
            let none = try Message.decode(index.removing(Set(index.keys.indices), from: bytes), limit: 1 << 20)
            if case .state(_, let e) = none.body { #expect(e.isEmpty) }
            if case .deltas(_, _, _, _, let e) = none.body { #expect(e.isEmpty) }
            // Cut short anywhere, the bytes neither crash the scanner nor get past the decoder.
            for n in stride(from: 0, to: bytes.count, by: 7) {
                let prefix = bytes.prefix(n)
                if let i = EntryIndex(message: prefix) {
                    #expect(throws: ReplicationDecodeError.self) { try Message.decode(i.removing([0], from: prefix), limit: 1 << 20) }
                }
            }
        }
        #expect(EntryIndex(message: try Message(.digest(buckets: [1])).encoded()) == nil)
        #expect(EntryIndex(message: try Message(.state(covers: nil, entries: [:])).encoded()) == nil)
        #expect(EntryIndex(message: Data("not json".utf8)) == nil)
    }

    @Test func rejectsOversizedBeforeParsing() {
        let bytes = Data(repeating: UInt8(ascii: " "), count: 2_000)
        #expect(throws: ReplicationDecodeError.oversized(size: 2_000, limit: 1_000)) {
            try Message.decode(bytes, limit: 1_000)
        }
    }

    @Test func rejectsWrongVersion() throws {
        let bytes = Data(#"{"version":2,"body":{"ack":{"epoch":1,"seq":1}}}"#.utf8)
        #expect(throws: ReplicationDecodeError.unsupportedVersion(2)) { try Message.decode(bytes, limit: 1_000) }
    }

    @Test(arguments: [
        "", "not json", "[]", #"{"body":{}}"#, #"{"version":"1"}"#,
        #"{"version":1,"body":{"nonsense":{}}}"#,
        #"{"version":1,"body":{"ack":{"epoch":-1,"seq":1}}}"#,
        #"{"version":1,"body":{"deltas":{"epoch":1,"from":5,"to":2,"last":true,"entries":{}}}}"#,
        #"{"version":1,"body":{"state":{"entries":{"k":{"counter":{"_0":{"increments":{"counts":{"a":"x"}}}}}}}}}"#,
    ])
    func rejectsMalformed(text: String) {
        do {
            _ = try Message.decode(Data(text.utf8), limit: 10_000)
            Issue.record("accepted \(text)")
        } catch {
            guard case .malformed(let why) = error else {
                Issue.record("wrong error \(error) for \(text)")
                return
            }
            #expect(!why.isEmpty)
        }
    }

    @Test func replicatorReportsRejectedBytes() {
        var r = TestReplicator(me: "a", epoch: 1)
        let out = r.receive(bytes: Data("{oops".utf8), from: "b", now: 0)
        guard case .rejected(let from, .malformed) = out.first else {
            Issue.record("expected a rejection, got \(out)")
            return
        }
        #expect(from == "b" && r.values.isEmpty)
        let mismatch = r.receive(ReplicationMessage(.digest(buckets: [1, 2])), from: "c", now: 0)
        guard case .rejected(let who, .malformed(let why)) = mismatch.first else {
            Issue.record("expected a digest rejection, got \(mismatch)")
            return
        }
        #expect(who == "c" && why.contains("2 buckets"))
        let big = r.receive(bytes: Data(count: r.settings.maxMessageBytes + 1), from: "b", now: 0)
        guard case .rejected(_, .oversized) = big.first else {
            Issue.record("expected oversized, got \(big)")
            return
        }
    }
}
