import Foundation
import JSONCodec
import Testing

/// `JSONReader` on its own, held to `JSONDecoder`: string escapes and surrogates, number forms
/// and ranges, structure and depth. The typed readers built on it (CRDT, `JSONValue`) are tested
/// where they live.
@Suite struct JSONReaderTests {
    @Test func stringsWithEveryEscapeAndSurrogatePairs() throws {
        let json = #"["a\"\\\/\b\f\n\r\t\u0041\u00e9\ud83d\ude00\u2028", "plain é 😀", "\u0000"]"#
        let fast = try JSONReader.read(Data(json.utf8)) { r in
            var out: [String] = []
            try r.readArray { r, _ in out.append(try r.readString()) }
            return out
        }
        #expect(fast == (try JSONDecoder().decode([String].self, from: Data(json.utf8))))
        for bad in [#"["\ud800"]"#, #"["\udc00"]"#, #"["\ud800\u0041"]"#, #"["\x"]"#, "[\"\u{1}\"]", #"["\u12"]"#, #"["abc"#] {
            #expect(throws: JSONReadError.self, "\(bad)") {
                try JSONReader.read(Data(bad.utf8)) { r in try r.readArray { r, _ in _ = try r.readString() } }
            }
        }
    }

    @Test func numbersAsJSONDecoderReadsThem() throws {
        for text in ["0", "-0", "1.0", "1e3", "-1E+2", "10000000000000000000e-1", "9223372036854775807", "-9223372036854775808",
                     "9223372036854775808", "1.5", "1e400", "01", "-", "1.", ".5", "+1", "1e", "18446744073709551615", "4.0e1"] {
            let bytes = Data(text.utf8)
            for kind in 0..<3 {
                switch kind {
                case 0:
                    let a = try? JSONDecoder().decode(Int64.self, from: bytes)
                    #expect(a == (try? JSONReader.decode(Int64.self, from: bytes)), "\(text) as Int64")
                case 1:
                    let a = try? JSONDecoder().decode(UInt64.self, from: bytes)
                    #expect(a == (try? JSONReader.decode(UInt64.self, from: bytes)), "\(text) as UInt64")
                default:
                    let a = try? JSONDecoder().decode(Double.self, from: bytes)
                    #expect(a == (try? JSONReader.decode(Double.self, from: bytes)), "\(text) as Double")
                }
            }
        }
    }

    @Test func structureAsJSONDecoderReadsIt() {
        for text in ["[1,2,]", "{\"a\":1,}", "[,]", "{,}", "[1,,2]", " [ ] ", "[]x", "{\"a\" 1}", "{1:2}", "[", "]",
                     "{\"a\":1,\"a\":2}", "\u{FEFF}[1]", "", " ", "null", "nul", "[true,false,null]", "[tru]"] {
            let bytes = Data(text.utf8)
            let slow = try? JSONDecoder().decode([String: Int].self, from: bytes)
            let fast = try? JSONReader.read(bytes) { r in try r.readMap { r in try r.readInteger(Int.self) } }
            if !JSONReader.usesFoundation(bytes) { #expect(slow == fast, "\(text) as [String: Int]") }
            let slowArray = try? JSONDecoder().decode([Bool?].self, from: bytes)
            let fastArray = try? JSONReader.read(bytes) { r -> [Bool?] in
                var out: [Bool?] = []
                try r.readArray { r, _ in out.append(try r.readNull() ? nil : r.readBool()) }
                return out
            }
            if !JSONReader.usesFoundation(bytes) { #expect(slowArray == fastArray, "\(text) as [Bool?]") }
        }
    }

    @Test func deepNestingIsRejectedWithTheOffset() {
        let deep = Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
        do {
            try JSONReader.read(deep) { r in try r.skipValue() }
            Issue.record("accepted")
        } catch let error as JSONReadError {
            #expect(error.offset == JSONReader.maxDepth && "\(error)".contains("nested more than"), "\(error)")
        } catch {
            Issue.record("\(error)")
        }
    }
}
