import AgentVMTestKit
import ClusterCore
import Foundation
import Testing

/// `JSONValue.encoded()` is written with `JSONWriter`; it must stay byte for byte what
/// `JSONEncoder` with `.sortedKeys` and `.withoutEscapingSlashes` writes through
/// `JSONValue.encode(to:)`.
@Suite struct JSONValueWriterTests {
    /// Keys and strings that stress ordering and escaping: control characters, quotes,
    /// backslashes, slashes, DEL, U+2028/2029, a BOM, non-ASCII in several planes, decomposed and
    /// precomposed spellings of one character, digits that sort differently as numbers.
    static let pieces = ["", "a", "B", "_", "10", "9", "\"", "\\", "/", "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}",
                         "\u{C}", "\u{D}", "\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}", "\u{FEFF}", "é", "e\u{301}",
                         "\u{212B}", "\u{C5}", "ß", "😀", "\u{FFFF}", "\u{10000}", "日本", " "]

    static func text(_ g: inout AgentVMTestKit.SeededRandom) -> String {
        (0..<g.int(4)).map { _ in pieces[g.int(pieces.count)] }.joined()
    }

    static func number(_ g: inout AgentVMTestKit.SeededRandom) -> Double {
        switch g.int(8) {
        case 0: return Double(Int64(bitPattern: g.next()) >> g.int(64))
        case 1: return Double(bitPattern: g.next())
        case 2: return Double(g.int(2001) - 1000) / 8
        case 3: return [0.1, 1e21, 1e22, 1e16, 1e-7, Double.leastNonzeroMagnitude, 1.7976931348623157e308, -0.0, 9_007_199_254_740_992, 9_007_199_254_740_992.0.nextUp,
                        -9_007_199_254_740_992, 1e15 + 0.5, 123_456.789, 1.0 / 3.0][g.int(14)]
        case 4: return Double(g.int(1000)) * pow(10, Double(g.int(40) - 20))
        default: return Double(g.int(100))
        }
    }

    static func value(_ g: inout AgentVMTestKit.SeededRandom, depth: Int = 0) -> JSONValue {
        switch g.int(depth > 3 ? 4 : 6) {
        case 0: return .null
        case 1: return .bool(g.int(2) == 0)
        case 2:
            let d = number(&g)
            return .number(d.isFinite ? d : 1)
        case 3: return .string(text(&g))
        case 4: return .array((0..<g.int(4)).map { _ in value(&g, depth: depth + 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<g.int(6) { o[text(&g)] = value(&g, depth: depth + 1) }
            return .object(o)
        }
    }

    static func reference(_ v: JSONValue) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(v)) ?? Data("null".utf8)
    }

    @Test func matchesJSONEncoderOnRandomValues() {
        var g = AgentVMTestKit.SeededRandom(seed: 42)
        for n in 0..<3_000 {
            let v = Self.value(&g)
            let expected = Self.reference(v)
            #expect(v.encoded() == expected, "case \(n): \(String(decoding: expected, as: UTF8.self))")
            #expect(v.jsonString == String(decoding: expected, as: UTF8.self))
        }
    }

    @Test func matchesJSONEncoderOnNumbers() {
        var g = AgentVMTestKit.SeededRandom(seed: 7)
        for _ in 0..<20_000 {
            let d = Self.number(&g)
            guard d.isFinite else { continue }
            let v = JSONValue.array([.number(d)])
            #expect(v.encoded() == Self.reference(v), "\(d)")
        }
    }

    @Test func nonFiniteNumbersMakeTheWholeValueNull() {
        for d in [Double.infinity, -Double.infinity, Double.nan] {
            let v: JSONValue = ["a": [.number(d)], "b": 1]
            #expect(v.jsonString == "null")
            #expect(v.encoded() == Self.reference(v))
        }
    }

    @Test func stringsAreEscapedAsJSONEncoderEscapesThem() {
        let s = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) }.joined() + "\u{2028}é😀\u{FEFF}"
        let v = JSONValue.object([s: .string(s)])
        #expect(v.encoded() == Self.reference(v))
    }
}
