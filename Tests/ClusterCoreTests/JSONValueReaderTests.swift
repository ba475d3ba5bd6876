import AgentVMTestKit
import ClusterCore
import Foundation
import JSONCodec
import Testing

/// `JSONValue.parse` (and the `JSONReadable` conformance under it) reads with `JSONReader`; it must
/// accept exactly what `JSONDecoder` accepted through `JSONValue.init(from:)` and give equal values,
/// on seeded random values and on random corruptions of their text.
@Suite struct JSONValueReaderTests {
    /// Bytes that turn valid JSON into tricky JSON: structure, number and string syntax, bad UTF-8.
    static let nasty: [[UInt8]] = ["\"", "\\", "{", "}", "[", "]", ",", ":", "0", "-", ".", "e", "E+", "1e400", "1e-400",
                                   "\\ud800", "\\u00e9", "nul", "true", ",]", ",}", " ", "\t", "/"]
        .map { Array($0.utf8) } + [[0x00], [0x01], [0xFF], [0xC3], [0xEF, 0xBB, 0xBF]]

    /// The path `parse` took before: `JSONDecoder` over `init(from:)`.
    static func reference(_ bytes: Data) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: bytes) }

    static func text(_ v: JSONValue, _ g: inout AgentVMTestKit.SeededRandom) -> Data {
        guard g.int(3) == 0 else { return v.encoded() }
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted]
        return (try? e.encode(v)) ?? v.encoded()
    }

    func agree(_ bytes: Data, _ note: String) {
        let slow = Self.reference(bytes)
        let fast = try? JSONValue.parse(bytes)
        #expect(slow == fast, "\(note): \(String(decoding: bytes, as: UTF8.self))")
        #expect(slow == (try? JSONReader.decode(JSONValue.self, from: bytes)), "\(note) through JSONReader.decode")
    }

    @Test func parsesAsJSONDecoderDoesOnRandomValuesAndCorruptions() {
        var g = AgentVMTestKit.SeededRandom(seed: 23)
        for n in 0..<2_000 {
            let v = JSONValueWriterTests.value(&g)
            let bytes = Self.text(v, &g)
            #expect((try? JSONValue.parse(bytes)) == v, "value \(n)")
            agree(bytes, "value \(n)")
            for _ in 0..<6 {
                var b = [UInt8](bytes)
                let at = g.int(b.count)
                let piece = Self.nasty[g.int(Self.nasty.count)]
                switch g.int(4) {
                case 0: b[at] = piece[0]
                case 1: b.insert(contentsOf: piece, at: at)
                case 2: b.remove(at: at)
                default: b.removeSubrange(at..<b.count)
                }
                agree(Data(b), "corrupted \(n)")
            }
        }
    }

    @Test func parsesEdgeCasesAsJSONDecoderDoes() {
        let cases = ["", " ", "null", "  true ", "1", "-0", "1.0", "1e400", "-1e400", "1e-400", "123456789012345678901234567890",
                     "0.1", "01", "1.", ".5", "+1", "[1,]", "{\"a\":1,}", "[,]", "{\"a\":1,\"a\":2}", "{\"a\" 1}", "[1 2]",
                     "\"\\u0000\"", "\"\u{1}\"", "\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"a", "[", "{", "nul", "[]]",
                     "\u{FEFF}[1]", String(repeating: "[", count: 511) + String(repeating: "]", count: 511),
                     String(repeating: "[", count: 513) + String(repeating: "]", count: 513)]
        for text in cases { agree(Data(text.utf8), "edge case") }
        for encoding in [String.Encoding.utf16BigEndian, .utf16LittleEndian, .utf32BigEndian, .utf16] {
            if let bytes = "{\"é\": [1, \"x\"]}".data(using: encoding) { agree(bytes, "\(encoding)") }
        }
    }

    @Test func errorsSayWhatAndWhere() {
        for (text, offset) in [("{\"a\": [1, 2,, 3]}", 12), ("[1, tru]", 4), ("{\"a\": 1} x", 9)] {
            do {
                _ = try JSONValue.parse(text)
                Issue.record("accepted \(text)")
            } catch let error as JSONValue.ParseError {
                #expect(error.reason.contains("at byte \(offset)"), "\(text): \(error)")
                #expect("\(error)".hasPrefix("invalid JSON: "))
            } catch {
                Issue.record("\(text): \(error)")
            }
        }
    }
}
