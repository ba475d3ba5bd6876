import Foundation
import Testing
@testable import CRDT

@Suite("Conflict resolution, TTL, garbage collection")
struct SemanticsTests {
    @Test func hlcIsMonotoneAndReceivesRemoteTime() {
        let a = HLC.now(wall: 100, node: "a", after: nil)
        let a2 = HLC.now(wall: 90, node: "a", after: a)  // the wall clock went backwards
        #expect(a2 > a && a2.wall == 100 && a2.logical == 1)
        let remote = HLC(wall: 500, logical: 3, node: "b")
        let r = HLC.receive(remote, wall: 120, node: "a", after: a2)
        #expect(r > remote && r.wall == 500 && r.logical == 4 && r.node == "a")
        #expect(HLC.now(wall: 600, node: "a", after: r) == HLC(wall: 600, logical: 0, node: "a"))
        // Equal wall and logical: the node id decides.
        #expect(HLC(wall: 1, logical: 0, node: "a") < HLC(wall: 1, logical: 0, node: "b"))
    }

    @Test func versionVectorOrdering() {
        var a = VersionVector(), b = VersionVector()
        a.increment("x")
        #expect(a.compare(b) == .after && b.compare(a) == .before)
        b.increment("y")
        #expect(a.compare(b) == .concurrent)
        b.merge(a)
        #expect(a.compare(b) == .before && b.compare(b) == .same)
    }

    @Test func orSetAddWinsOverConcurrentRemove() {
        var a = ORSet<String>()
        a.add("x", by: "a")
        var b = a
        b.remove("x")       // b removes the add it saw
        a.add("x", by: "a") // a concurrently re-adds
        #expect(a.merging(b).contains("x") && b.merging(a).contains("x"))
        // A remove that has seen every add wins.
        var c = a.merging(b)
        c.remove("x")
        #expect(!c.merging(a).contains("x"))
        #expect(c.merging(a).count == 0)
    }

    @Test func orSetRemoveLeavesNoTombstone() throws {
        var s = ORSet<String>()
        for i in 0..<100 { s.add("e\(i)", by: "a") }
        for i in 0..<100 { s.remove("e\(i)") }
        // Only the context (one version-vector entry) remains.
        #expect(s.count == 0)
        #expect(s.context.compact["a"] == 100 && s.context.cloud.isEmpty)
        #expect(try CRDTCoding.encode(s).count < 80)
    }

    @Test func removingWhatIsAbsentRecordsNoDelta() {
        var s = ORSet<String>()
        s.remove("x")
        #expect(s.delta == nil)
        var m = ORMap<PNCounter>()
        m.remove("k")
        #expect(m.delta == nil)
        var r = MVRegister<Int>()
        r.clear()
        #expect(r.delta == nil)
        s.add("x", by: "a")
        s.resetDelta()
        s.remove("x")
        #expect(s.delta?.contains("x") == false && s.delta?.context.contains(Dot("a", 1)) == true)
    }

    @Test func mvRegisterKeepsConcurrentWrites() {
        var a = MVRegister<Int>()
        var b = MVRegister<Int>()
        a.set(1, by: "a")
        b.set(2, by: "b")
        var m = a.merging(b)
        #expect(Set(m.values) == [1, 2])
        m.set(3, by: "a")
        #expect(m.merging(a).merging(b).values == [3])
    }

    @Test func orMapUpdateWinsOverConcurrentRemove() {
        var a = ORMap<PNCounter>()
        a.update("k", by: "a", initial: PNCounter()) { $0.increment(by: 5, at: "a") }
        var b = a
        b.remove("k")
        a.update("k", by: "a", initial: PNCounter()) { $0.increment(by: 1, at: "a") }
        let m = a.merging(b)
        #expect(m["k"]?.value == 6 && b.merging(a) == m)
        // Remove then update starts from empty.
        var c = m
        c.remove("k")
        c.update("k", by: "c", initial: PNCounter()) { $0.increment(by: 2, at: "c") }
        #expect(c.merging(m)["k"]?.value == 2)
    }

    @Test func orMapConcurrentUpdatesJoin() {
        var a = ORMap<PNCounter>()
        var b = ORMap<PNCounter>()
        a.update("k", by: "a", initial: PNCounter()) { $0.increment(by: 2, at: "a") }
        b.update("k", by: "b", initial: PNCounter()) { $0.increment(by: 3, at: "b") }
        #expect(a.merging(b)["k"]?.value == 5)
    }

    @Test func lwwMapConcurrentSetAndDeleteResolveByTimestamp() {
        var a = LWWMap<String>()
        a.set("k", "v0", wall: 10, by: "a")
        var b = a
        a.set("k", "v1", wall: 20, by: "a")
        b.delete("k", wall: 21, by: "b")
        #expect(a.merging(b).get("k", now: 30) == nil)
        #expect(b.merging(a).get("k", now: 30) == nil)
        // The same wall time: the logical counter is equal too, so node id "b" > "a" wins.
        var c = LWWMap<String>(), d = LWWMap<String>()
        c.set("k", "from-a", wall: 50, by: "a")
        d.delete("k", wall: 50, by: "b")
        #expect(c.merging(d).get("k", now: 60) == nil)
        var e = LWWMap<String>(), f = LWWMap<String>()
        e.delete("k", wall: 50, by: "a")
        f.set("k", "from-b", wall: 50, by: "b")
        #expect(e.merging(f).get("k", now: 60) == "from-b")
    }

    @Test func lwwMapDeleteStaysDeletedAgainstStaleSet() {
        var a = LWWMap<Int>()
        a.set("k", 1, wall: 10, by: "a")
        let stale = a
        a.delete("k", wall: 20, by: "a")
        a.merge(stale)
        #expect(a.get("k", now: 30) == nil)
        // A write after the delete, on a node whose clock is behind, still wins: its HLC is later.
        a.set("k", 2, wall: 5, by: "a")
        #expect(a.merging(stale).get("k", now: 30) == 2)
    }

    @Test func lwwMapTTLExpiresAtTheSameInstantEverywhere() {
        var a = LWWMap<Int>()
        a.set("k", 1, expiresAt: 1_000, wall: 10, by: "a")
        var b = LWWMap<Int>()
        b.merge(a)
        for replica in [a, b] {
            #expect(replica.get("k", now: 999) == 1)
            #expect(replica.get("k", now: 1_000) == nil)
            #expect(replica.keys(now: 1_000).isEmpty)
        }
    }

    @Test func lwwMapGarbageCollection() {
        var a = LWWMap<Int>()
        a.set("old", 1, wall: 10, by: "a")
        a.set("ttl", 2, expiresAt: 100, wall: 10, by: "a")
        a.delete("gone", wall: 50, by: "a")
        var lagging = a  // still holds the live, expired "ttl" entry
        #expect(a.collectGarbage(now: 120, retention: 1_000).isEmpty)
        #expect(a.entries["ttl"]?.isDeleted == true)
        // The expired value re-arriving does not come back: the marker has the same timestamp.
        a.merge(lagging)
        #expect(a.entries["ttl"]?.isDeleted == true && a.get("ttl", now: 50) == nil)
        lagging.merge(a)
        #expect(lagging == a)
        // After the retention period the markers go; live entries stay.
        #expect(a.collectGarbage(now: 1_101, retention: 1_000) == ["gone", "ttl"])
        #expect(a.entries.keys.sorted() == ["old"])
    }

    @Test func deltaOfOnePercentIsSmall() throws {
        var m = LWWMap<String>()
        for i in 0..<1_000 { m.set("key\(i)", "value\(i)", wall: 1, by: "a") }
        m.resetDelta()
        for i in 0..<10 { m.set("key\(i)", "new\(i)", wall: 2, by: "a") }
        let delta = try #require(m.delta)
        #expect(delta.entries.count == 10)
        #expect(try CRDTCoding.encode(delta).count * 50 <= CRDTCoding.encode(m).count)
    }

    @Test func counterOverflowSaturates() {
        var g = GCounter()
        g.increment(by: UInt64.max - 1, at: "a")
        g.increment(by: 5, at: "a")
        g.increment(by: 5, at: "b")
        #expect(g.value == UInt64.max)
        var p = PNCounter()
        p.increment(by: Int64.min, at: "a")
        #expect(p.value == Int64.min)
    }
}
