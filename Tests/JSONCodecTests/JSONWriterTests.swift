import Foundation
import JSONCodec
import Testing

/// `JSONWriter` on its own, held to `JSONEncoder` with `.sortedKeys` and `.withoutEscapingSlashes`:
/// string escapes, number forms, key order. The types that write themselves with it (CRDT,
/// `JSONValue`) are tested where they live.
@Suite struct JSONWriterTests {
    static func reference<T: Encodable>(_ value: T) throws -> [UInt8] { Array(try JSONWriter.encodeWithFoundation(value)) }

    static func written(_ body: (inout JSONWriter) throws -> Void) rethrows -> [UInt8] {
        var w = JSONWriter()
        try body(&w)
        return w.bytes
    }

    @Test func stringsAreEscapedAsJSONEncoderEscapesThem() throws {
        let all = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) } + ["\u{2028}", "é", "e\u{301}", "😀", "\u{FEFF}", ""]
        for s in all + [all.joined()] {
            #expect(Self.written { $0.string(s) } == (try Self.reference(s)), "\(s.unicodeScalars.map(\.value))")
        }
    }

    @Test func numbersAsJSONEncoderWritesThem() throws {
        let doubles = [0, -0.0, 1, -1.5, 0.1, 1.0 / 3.0, 1e21, 1e22, 1e16, 1e-7, 123_456.789, Double.leastNonzeroMagnitude,
                       Double.greatestFiniteMagnitude, 9_007_199_254_740_992.0.nextUp, -2.5e-300]
        for d in doubles {
            #expect(try Self.written { try $0.double(d) } == (try Self.reference(d)), "\(d)")
        }
        for n in [Int64.min, -1, 0, 1, Int64.max] { #expect(Self.written { $0.integer(n) } == (try Self.reference(n))) }
        #expect(Self.written { $0.integer(UInt64.max) } == (try Self.reference(UInt64.max)))
        for d in [Double.nan, .infinity, -.infinity] {
            #expect(throws: JSONWriteError.self) { try Self.written { try $0.double(d) } }
        }
    }

    @Test func objectKeysInUTF8ByteOrder() throws {
        let keys = ["", "a", "B", "_", "10", "9", "é", "e\u{301}", "\u{212B}", "\u{C5}", "😀", "\u{FFFF}", "\u{10000}", "ab", "a\u{0}"]
        // Canonically equivalent spellings are one `String` key: the first spelling stays.
        let dict = Dictionary(keys.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let out = Self.written { w in w.object(dict, key: { $0 }) { w, v in w.integer(v) } }
        #expect(out == (try Self.reference(dict)))
        #expect(keys.sorted(by: JSONWriter.precedes) == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }
}
