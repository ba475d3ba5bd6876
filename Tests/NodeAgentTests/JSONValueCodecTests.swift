import AgentVMTestKit
import ClusterCore
import CRDT
import Foundation
import JSONCodec
import NodeAgent
import Testing
import Transport

/// Replicated memory reads and writes `ReplicatedValue<JSONValue>`s with the JSON codec
/// (`JSONReadable`, `JSONWritable`); both must match `JSONDecoder`/`JSONEncoder` over their
/// `Codable`. `JSONValue` alone is tested in ClusterCoreTests, where its conformances live.
@Suite struct JSONValueCodecTests {
    static let pieces = ["", "a", "\"", "\\", "/", "\u{0}", "\u{1F}", "\n", "\u{7F}", "\u{2028}", "é", "e\u{301}", "😀", "k"]

    static func value(_ g: inout AgentVMTestKit.SeededRandom, depth: Int = 0) -> JSONValue {
        switch g.int(depth > 3 ? 4 : 6) {
        case 0: return .null
        case 1: return .bool(g.int(2) == 0)
        case 2:
            let d = [Double(g.int(2001) - 1000), Double(bitPattern: g.next()), 0.1 * Double(g.int(100)), 1e300, -0.0][g.int(5)]
            return .number(d.isFinite ? d : 2)
        case 3: return .string((0..<g.int(4)).map { _ in pieces[g.int(pieces.count)] }.joined())
        case 4: return .array((0..<g.int(4)).map { _ in value(&g, depth: depth + 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<g.int(5) { o[pieces[g.int(pieces.count)] + pieces[g.int(pieces.count)]] = value(&g, depth: depth + 1) }
            return .object(o)
        }
    }

    static let nasty: [[UInt8]] = ["\"", "\\", "{", "}", "[", "]", ",", ":", "0", "-", ".", "e", "1e400", "\\ud800", "nul", ",]", ",}"]
        .map { Array($0.utf8) } + [[0x00], [0xFF], [0xC3]]

    func agree<T: Decodable & Equatable>(_ type: T.Type, _ bytes: Data, _ note: String) {
        let slow = try? JSONDecoder().decode(T.self, from: bytes)
        let fast = try? JSONReader.decode(T.self, from: bytes)
        #expect(slow == fast, "\(note): \(String(decoding: bytes, as: UTF8.self))")
    }

    @Test func readsAndWritesAsFoundationDoes() throws {
        var g = AgentVMTestKit.SeededRandom(seed: 11)
        for n in 0..<1_500 {
            let v = Self.value(&g)
            var m = LWWMap<JSONValue>()
            m.set("", v, expiresAt: g.int(2) == 0 ? 99 : nil, wall: 1, by: "n1")
            m.resetDelta()
            let replicated = ReplicatedValue<JSONValue>.map(m)
            let encoded = try CRDTCoding.encode(replicated)
            #expect(encoded == (try CRDTCoding.encodeWithFoundation(replicated)), "value \(n)")
            agree(ReplicatedValue<JSONValue>.self, encoded, "replicated \(n)")
            for _ in 0..<5 {
                var b = [UInt8](encoded)
                let at = g.int(b.count)
                let piece = Self.nasty[g.int(Self.nasty.count)]
                switch g.int(3) {
                case 0: b[at] = piece[0]
                case 1: b.insert(contentsOf: piece, at: at)
                default: b.removeSubrange(at..<b.count)
                }
                agree(ReplicatedValue<JSONValue>.self, Data(b), "corrupted \(n)")
            }
        }
    }

    /// The convergence check: equal live contents give equal summaries whatever the write order;
    /// a changed value changes the hash.
    @Test func summariesAgreeOnEqualContents() async throws {
        let group = try ReplicaGroup(count: 2, transport: InProcessTransport())
        defer { group.directory.remove() }
        try await group.startAll()
        for (i, v) in [JSONValue("a\u{0}\\"), 2.5, ["x": [1, nil]], true].enumerated() {
            try await group["n1"].set("shared", "k\(i)", v)
        }
        for (i, v) in [JSONValue("a\u{0}\\"), 2.5, ["x": [1, nil]], true].enumerated().reversed() {
            try await group["n2"].set("shared", "k\(i)", v)
        }
        let a = try group["n1"].summary("shared"), b = try group["n2"].summary("shared")
        #expect(a.count == 4 && a.count == b.count && a.hash == b.hash)
        try await group["n2"].set("shared", "k1", 2.25)
        #expect(try group["n2"].summary("shared").hash != a.hash)
        #expect(try group["n1"].summary("shared", prefix: "k1").count == 1)
        await group.stopAll()
    }
}
