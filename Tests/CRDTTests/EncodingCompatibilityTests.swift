import Foundation
import Testing
@testable import CRDT

/// Replicas persisted before a change of the in-memory representation must still decode, to the
/// same state, and re-encode to the same bytes. The samples were encoded by the code of commit
/// 508032d (before the dot-store rewrite); never regenerate them from newer code.
@Suite struct CRDTEncodingCompatibilityTests {
    static let orSetBytes = #"{"context":{"cloud":[["node-d",2],["node-d",3]],"vv":{"entries":{"node-a":4,"node-b":1,"node-c":1}}},"entries":[{"key":"v","values":[{"dot":["node-d",3],"value":true}]},{"key":"w","values":[{"dot":["node-c",1],"value":true}]},{"key":"x","values":[{"dot":["node-b",1],"value":true}]},{"key":"y","values":[{"dot":["node-a",4],"value":true}]}]}"#
    static let mvRegisterBytes = #"{"context":{"cloud":[],"vv":{"entries":{"node-a":2,"node-b":1}}},"entries":[{"key":0,"values":[{"dot":["node-a",2],"value":2},{"dot":["node-b",1],"value":3}]}]}"#
    static let orMapBytes = #"{"context":{"cloud":[],"vv":{"entries":{"node-a":3,"node-b":1}}},"entries":[{"key":"k1","values":[{"dot":["node-a",3],"value":{"decrements":{"counts":{}},"increments":{"counts":{"node-a":6}}}},{"dot":["node-b",1],"value":{"decrements":{"counts":{}},"increments":{"counts":{"node-a":5,"node-b":7}}}}]}]}"#
    static let lwwMapBytes = #"{"entries":{"a":{"t":[100,0,"node-a"],"v":"1"},"b":{"t":[101,0,"node-b"],"v":"2","x":500},"c":{"t":[103,0,"node-b"],"x":103}}}"#
    static let valueBytes = #"{"set":{"_0":{"context":{"cloud":[["node-d",2],["node-d",3]],"vv":{"entries":{"node-a":4,"node-b":1,"node-c":1}}},"entries":[{"key":"v","values":[{"dot":["node-d",3],"value":true}]},{"key":"w","values":[{"dot":["node-c",1],"value":true}]},{"key":"x","values":[{"dot":["node-b",1],"value":true}]},{"key":"y","values":[{"dot":["node-a",4],"value":true}]}]}}}"#
    static let gCounterBytes = #"{"counts":{"node-a":3,"node-b":4}}"#
    static let pnCounterBytes = #"{"decrements":{"counts":{"node-b":9}},"increments":{"counts":{"node-a":3}}}"#
    static let lwwRegisterBytes = #"{"ts":[7,0,"node-a"],"value":"v1"}"#

    /// Decodes `json`, checks it equals `expected`, and that it re-encodes to the same bytes.
    func check<T: ReplicatedData>(_ json: String, _ expected: T) throws {
        let decoded = try CRDTCoding.decode(T.self, from: Data(json.utf8))
        #expect(decoded == expected)
        #expect(String(decoding: try CRDTCoding.encode(decoded), as: UTF8.self) == json)
        #expect(String(decoding: try CRDTCoding.encode(expected), as: UTF8.self) == json)
    }

    @Test func orSet() throws {
        let s = EncodingSamples.orSet()
        #expect(s.elements == ["v", "w", "x", "y"])
        #expect(s.context.contains(Dot("node-d", 2)) && !s.context.contains(Dot("node-d", 1)))
        try check(Self.orSetBytes, s)
    }

    @Test func mvRegister() throws {
        let r = EncodingSamples.mvRegister()
        #expect(r.values == [2, 3])
        try check(Self.mvRegisterBytes, r)
    }

    @Test func orMap() throws {
        let m = EncodingSamples.orMap()
        #expect(m.keys == ["k1"])
        #expect(m["k1"]?.value == 13)
        try check(Self.orMapBytes, m)
    }

    @Test func lwwMap() throws {
        let m = EncodingSamples.lwwMap()
        #expect(m.keys(now: 200) == ["a", "b"])
        try check(Self.lwwMapBytes, m)
    }

    @Test func replicatedValue() throws {
        try check(Self.valueBytes, ReplicatedValue<String>.set(EncodingSamples.orSet()))
    }

    @Test func counterAndRegister() throws {
        var g = GCounter()
        g.increment(by: 3, at: "node-a")
        g.increment(by: 4, at: "node-b")
        try check(Self.gCounterBytes, g)
        var p = PNCounter()
        p.increment(by: 3, at: "node-a")
        p.increment(by: -9, at: "node-b")
        try check(Self.pnCounterBytes, p)
        var r = LWWRegister("v0", timestamp: HLC.zero("init"))
        r.set("v1", wall: 7, by: "node-a")
        try check(Self.lwwRegisterBytes, r)
    }
}

/// The histories behind the samples: concurrent writes, removes, and a dot seen out of order.
enum EncodingSamples {
    static func orSet() -> ORSet<String> {
        var a = ORSet<String>(), b = ORSet<String>()
        a.add("x", by: "node-a")
        a.add("y", by: "node-a")
        a.add("z", by: "node-a")
        b.merge(a)
        b.add("x", by: "node-b")
        b.remove("y")
        a.add("y", by: "node-a")
        a.remove("z")
        a.merge(b)
        a.add("w", by: "node-c")
        // node-d's third add arrives without its first: a gap in the context.
        var d = ORSet<String>()
        d.add("v", by: "node-d")
        d.add("v", by: "node-d")
        d.resetDelta()
        d.add("v", by: "node-d")
        if let delta = d.delta { a.merge(delta) }
        return a
    }

    static func mvRegister() -> MVRegister<Int> {
        var a = MVRegister<Int>(), b = MVRegister<Int>()
        a.set(1, by: "node-a")
        b.merge(a)
        a.set(2, by: "node-a")
        b.set(3, by: "node-b")
        a.merge(b)
        return a
    }

    static func orMap() -> ORMap<PNCounter> {
        var a = ORMap<PNCounter>(), b = ORMap<PNCounter>()
        a.update("k1", by: "node-a", initial: PNCounter()) { $0.increment(by: 5, at: "node-a") }
        a.update("k2", by: "node-a", initial: PNCounter()) { $0.increment(by: -2, at: "node-a") }
        b.merge(a)
        b.update("k1", by: "node-b", initial: PNCounter()) { $0.increment(by: 7, at: "node-b") }
        a.update("k1", by: "node-a", initial: PNCounter()) { $0.increment(by: 1, at: "node-a") }
        b.remove("k2")
        a.merge(b)
        return a
    }

    static func lwwMap() -> LWWMap<String> {
        var m = LWWMap<String>()
        m.set("a", "1", wall: 100, by: "node-a")
        m.set("b", "2", expiresAt: 500, wall: 101, by: "node-b")
        m.set("c", "3", wall: 102, by: "node-a")
        m.delete("c", wall: 103, by: "node-b")
        return m
    }
}
