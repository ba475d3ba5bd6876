import Foundation
import JSONCodec
import Testing
@testable import CRDT

/// The fast decoder (`JSONReader`, `JSONReadable`) is held to `JSONDecoder` over the `Decodable`
/// conformances: on seeded random values of every type, and on random corruptions of their
/// bytes, both accept the same inputs and produce equal values, and neither crashes. The fast
/// encoder (`JSONWriter`, `JSONWritable`) must write the bytes `JSONEncoder` writes.
@Suite struct FastDecodeTests {
    /// Random states of `T`: three replicas make random operations and merge now and then.
    func states<T: DeltaReplicatedData>(_ empty: T, cases: Int = 60,
                                        _ operation: (inout T, ReplicaID, inout SeededRandom) -> Void) -> [T] {
        var out: [T] = []
        for seed in 0..<UInt64(cases) {
            var rng = SeededRandom(seed: seed)
            var s = lawReplicas.map { _ in empty }
            for _ in 0..<rng.int(0...20) {
                let i = rng.int(0...2)
                if rng.chance(0.2) {
                    s[i].merge(s[rng.int(0...2)])
                } else {
                    operation(&s[i], lawReplicas[i], &rng)
                }
            }
            out.append(s[0].merging(s[1]))
            if let d = s[2].delta { out.append(d) }
        }
        return out
    }

    /// Checks both decoders agree on `bytes`: both fail, or both give `expected` (when given) or
    /// an equal value.
    func agree<T: ReplicatedData>(_ type: T.Type, _ bytes: Data, expected: T? = nil, _ note: String) {
        let slow = Result { try JSONDecoder().decode(T.self, from: bytes) }
        let fast = Result { try JSONReader.decode(T.self, from: bytes) }
        switch (slow, fast) {
        case (.success(let a), .success(let b)):
            #expect(a == b, "\(note): decoded differently from \(String(decoding: bytes, as: UTF8.self))")
            if let expected { #expect(b == expected, "\(note)") }
        case (.failure, .failure):
            #expect(expected == nil, "\(note): failed to decode its own encoding")
        case (.success, .failure(let e)):
            Issue.record("\(note): JSONDecoder accepts, fast decoder rejects (\(e)): \(String(decoding: bytes, as: UTF8.self))")
        case (.failure(let e), .success):
            Issue.record("\(note): fast decoder accepts, JSONDecoder rejects (\(e)): \(String(decoding: bytes, as: UTF8.self))")
        }
    }

    /// Bytes that turn valid JSON into tricky JSON: structure, number and string syntax.
    static let nasty: [[UInt8]] = [
        "\"", "\\", "{", "}", "[", "]", ",", ":", "0", "1", "9", "-", "+", ".", "e", "E", " ", "n", "t",
        "null", "true", "1e3", "1.0", "-0", "01", "1e400", "\\u0041", "\\ud83d\\ude00", "\\ud800", "\\u00e9",
        ",]", ",}", "[]", "{}", "\"\"", "é", "😀",
    ].map { Array($0.utf8) } + [[0x00], [0x1F], [0x7F], [0xFF], [0xC3], [0xED, 0xA0, 0x80]]

    /// A random corruption: a byte replaced, deleted, or a nasty sequence inserted or substituted,
    /// or the bytes cut short.
    static func corrupt(_ bytes: Data, _ rng: inout SeededRandom) -> Data {
        var b = [UInt8](bytes)
        guard !b.isEmpty else { return Data(nasty[rng.int(0...(nasty.count - 1))]) }
        let at = rng.int(0...(b.count - 1))
        let piece = nasty[rng.int(0...(nasty.count - 1))]
        switch rng.int(0...4) {
        case 0: b[at] = piece[0]
        case 1: b.remove(at: at)
        case 2: b.insert(contentsOf: piece, at: at)
        case 3: b.replaceSubrange(at..<min(b.count, at + piece.count), with: piece)
        default: b.removeSubrange(at..<b.count)
        }
        return Data(b)
    }

    func check<T: DeltaReplicatedData>(_ empty: T, corruptions: Int = 25,
                                       _ operation: (inout T, ReplicaID, inout SeededRandom) -> Void) throws {
        var rng = SeededRandom(seed: 99)
        for (n, s) in states(empty, operation).enumerated() {
            let bytes = try CRDTCoding.encode(s)
            #expect(bytes == (try CRDTCoding.encodeWithFoundation(s)), "\(T.self) #\(n): \(String(decoding: bytes, as: UTF8.self))")
            agree(T.self, bytes, expected: s, "\(T.self) #\(n)")
            for c in 0..<corruptions {
                agree(T.self, Self.corrupt(bytes, &rng), "\(T.self) #\(n) corruption \(c)")
            }
        }
    }

    @Test func versionVector() throws { try check(VersionVector()) { s, r, _ in s.increment(r) } }

    @Test func counters() throws {
        try check(GCounter()) { s, r, rng in s.increment(by: UInt64(rng.int(1...5)), at: r) }
        try check(PNCounter()) { s, r, rng in s.increment(by: Int64(rng.int(-5...5)) << rng.int(0...60), at: r) }
    }

    @Test func registers() throws {
        try check(LWWRegister("", timestamp: HLC.zero("init"))) { s, r, rng in
            s.set(Self.text(&rng), wall: Int64(rng.int(-5...5)) << rng.int(0...50), by: r)
        }
        try check(MVRegister<Double>()) { s, r, rng in
            if rng.chance(0.15) { s.clear() } else { s.set(Self.number(&rng), by: r) }
        }
    }

    @Test func sets() throws {
        try check(ORSet<String>()) { s, r, rng in
            let e = Self.text(&rng)
            if rng.chance(0.4) { s.remove(e) } else { s.add(e, by: r) }
        }
        try check(ORSet<Int>()) { s, r, rng in
            let e = rng.int(-3...3)
            if rng.chance(0.4) { s.remove(e) } else { s.add(e, by: r) }
        }
    }

    @Test func maps() throws {
        try check(ORMap<PNCounter>()) { s, r, rng in
            let key = Self.text(&rng)
            if rng.chance(0.3) {
                s.remove(key)
            } else {
                let by = Int64(rng.int(-3...3))
                s.update(key, by: r, initial: PNCounter()) { $0.increment(by: by, at: r) }
            }
        }
        try check(LWWMap<Bool>()) { s, r, rng in
            let key = Self.text(&rng)
            let wall = Int64(rng.int(0...8))
            if rng.chance(0.3) {
                s.delete(key, wall: wall, by: r)
            } else {
                s.set(key, rng.chance(0.5), expiresAt: rng.chance(0.3) ? wall + 3 : nil, wall: wall, by: r)
            }
        }
    }

    @Test func replicatedValues() throws {
        try check(ReplicatedValue<String>.counter(PNCounter())) { s, r, rng in
            switch rng.int(0...4) {
            case 0:
                var m = LWWMap<String>()
                m.set(Self.text(&rng), Self.text(&rng), wall: Int64(rng.int(0...9)), by: r)
                s.mergeDelta(.map(m))
            case 1:
                var set = ORSet<String>()
                set.add(Self.text(&rng), by: ReplicaID("\(r)-\(rng.next())"))
                s.mergeDelta(.set(set))
            case 2:
                s.mergeDelta(.register(LWWRegister(Self.text(&rng), timestamp: HLC(wall: Int64(rng.int(0...9)), node: r))))
            default:
                s.modifyCounter { $0.increment(by: Int64(rng.int(-2...4)), at: r) }
            }
        }
    }

    /// Keys and strings with escapes, non-ASCII, canonically equivalent spellings.
    static func text(_ rng: inout SeededRandom) -> String {
        let pieces = ["a", "b", "\"", "\\", "/", "\n", "\u{0}", "\u{1F}", "é", "e\u{301}", "😀", "\u{2028}", " ", "k1"]
        return (0..<rng.int(0...3)).map { _ in pieces[rng.int(0...(pieces.count - 1))] }.joined()
    }

    static func number(_ rng: inout SeededRandom) -> Double {
        switch rng.int(0...4) {
        case 0: return Double(rng.int(-1000...1000))
        case 1: return Double(bitPattern: rng.next())
        case 2: return Double(rng.int(-9...9)) * 1e300
        case 3: return 0.1 * Double(rng.int(-9...9))
        default: return Double(Int64.max) * Double(rng.int(-2...2))
        }
    }

    // MARK: - Messages

    typealias Message = ReplicationMessage<ReplicatedValue<String>>

    static func entries(_ rng: inout SeededRandom) -> [String: ReplicatedValue<String>] {
        var out: [String: ReplicatedValue<String>] = [:]
        for _ in 0..<rng.int(0...4) {
            var m = LWWMap<String>()
            m.set("", text(&rng), expiresAt: rng.chance(0.3) ? 99 : nil, wall: Int64(rng.int(0...99)), by: ReplicaID("n\(rng.int(0...2))"))
            m.resetDelta()
            out[text(&rng)] = .map(m)
        }
        return out
    }

    static func messages(_ rng: inout SeededRandom) -> [Message] {
        [
            Message(.deltas(epoch: rng.next(), from: 1, to: UInt64(rng.int(1...9)), last: rng.chance(0.5), entries: entries(&rng))),
            Message(.ack(epoch: rng.next(), seq: rng.next())),
            Message(.state(covers: rng.chance(0.5) ? SequenceMark(epoch: 3, seq: rng.next()) : nil, entries: entries(&rng))),
            Message(.digest(buckets: (0..<rng.int(0...5)).map { _ in rng.next() })),
            Message(.keyDigest(buckets: (0..<rng.int(0...3)).map { _ in rng.int(0...63) },
                               hashes: Dictionary((0..<rng.int(0...3)).map { _ in (text(&rng), rng.next()) }, uniquingKeysWith: { a, _ in a }))),
            Message(.request(keys: (0..<rng.int(0...3)).map { _ in text(&rng) })),
        ]
    }

    /// Both decoders: the same message, or the same kind of rejection.
    func agreeOnMessage(_ bytes: Data, expected: Message? = nil, _ note: String) {
        let slow = Result { () throws(ReplicationDecodeError) in try Message.decodeWithFoundation(bytes, limit: 1 << 20) }
        let fast = Result { () throws(ReplicationDecodeError) in try Message.decode(bytes, limit: 1 << 20) }
        switch (slow, fast) {
        case (.success(let a), .success(let b)):
            #expect(a == b, "\(note): \(String(decoding: bytes, as: UTF8.self))")
            if let expected { #expect(b == expected, "\(note)") }
        case (.failure(let a), .failure(let b)):
            #expect(expected == nil, "\(note): \(b)")
            switch (a, b) {
            case (.unsupportedVersion(let x), .unsupportedVersion(let y)): #expect(x == y, "\(note)")
            // Which malformed: JSONDecoder checks a string's UTF-8, escapes and numbers only when
            // it decodes them, so it may blame the version probe less often; both reject.
            case (.malformed, .malformed): break
            default: Issue.record("\(note): \(a) / \(b)")
            }
        case (.success, .failure(let e)):
            Issue.record("\(note): JSONDecoder accepts, fast decoder rejects (\(e)): \(String(decoding: bytes, as: UTF8.self))")
        case (.failure(let e), .success):
            Issue.record("\(note): fast decoder accepts, JSONDecoder rejects (\(e)): \(String(decoding: bytes, as: UTF8.self))")
        }
    }

    @Test func messagesAndTheirCorruptions() throws {
        var rng = SeededRandom(seed: 5)
        for round in 0..<40 {
            for message in Self.messages(&rng) {
                let bytes = try message.encoded()
                #expect(bytes == (try CRDTCoding.encodeWithFoundation(message)), "round \(round)")
                agreeOnMessage(bytes, expected: message, "round \(round)")
                for c in 0..<30 {
                    agreeOnMessage(Self.corrupt(bytes, &rng), "round \(round) corruption \(c)")
                }
            }
        }
    }

    @Test func errorsNameTheFieldPath() {
        let bytes = Data(#"{"body":{"state":{"entries":{"k1":{"map":{"_0":{"entries":{"":{"t":[1,0,"a"],"x":"soon"}}}}}}}},"version":1}"#.utf8)
        do {
            _ = try Message.decode(bytes, limit: 1 << 20)
            Issue.record("accepted")
        } catch {
            #expect("\(error)".hasPrefix("malformed replication message: body.state.entries.k1.map._0.entries..x:"), "\(error)")
        }
        let wrongVersion = Data(#"{"body":{"nonsense":1},"version":2}"#.utf8)
        #expect(throws: ReplicationDecodeError.unsupportedVersion(2)) { try Message.decode(wrongVersion, limit: 1 << 20) }
        let noVersion = Data(#"{"body":{"ack":{"epoch":1,"seq":2}}}"#.utf8)
        do {
            _ = try Message.decode(noVersion, limit: 1 << 20)
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("no version field"), "\(error)")
        }
        #expect(throws: ReplicationDecodeError.oversized(size: 40, limit: 10)) {
            try Message.decode(Data(repeating: 0x20, count: 40), limit: 10)
        }
    }

    @Test func deepNestingIsRejectedNotACrash() {
        let deep = Data(("{\"body\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + ",\"version\":1}").utf8)
        #expect(throws: ReplicationDecodeError.self) { try Message.decode(deep, limit: 1 << 20) }
    }
}
