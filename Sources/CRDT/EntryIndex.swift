import Foundation
import JSONCodec

/// The entries of a `deltas` or `state` message located in its bytes without decoding them: each
/// key and the hash of its value's bytes, as `Replicator` hashes the values it holds.
///
/// After a heal every peer sends the values a replica lacks, so most arrive two or three times;
/// decoding JSON is what a heal spends its time on, so an entry whose bytes hash the same as the
/// value already held (merging it would change nothing: merge is idempotent) is cut out before
/// the message is decoded (`removing`). Whatever remains is decoded by the ordinary defensive
/// decoder, so a message this scanner misreads is rejected there, not trusted.
public struct EntryIndex: Sendable {
    /// The entries' keys, in message order.
    public let keys: [String]
    /// Per entry, the stable hash of (key, value bytes): equal to `Replicator`'s hash of the key
    /// when the bytes are the deterministic encoding of the value it holds.
    public let hashes: [UInt64]
    private let ranges: [Range<Int>]
    private let object: Range<Int>

    /// Locates the entries of `bytes` (a whole message); nil when the message carries no entries
    /// or does not scan as `{"body":{"<kind>":{…,"entries":{…}…}}…}`.
    public init?(message bytes: Data) {
        guard let found = bytes.withUnsafeBytes({ raw -> Scanner.Found? in
            var scanner = Scanner(raw)
            return scanner.entries()
        }) else { return nil }
        var keys: [String] = [], hashes: [UInt64] = [], ranges: [Range<Int>] = []
        keys.reserveCapacity(found.entries.count)
        hashes.reserveCapacity(found.entries.count)
        ranges.reserveCapacity(found.entries.count)
        for e in found.entries {
            guard let key = Self.unquote(bytes[bytes.startIndex + e.key.lowerBound..<bytes.startIndex + e.key.upperBound]) else { return nil }
            let value = bytes[bytes.startIndex + e.value.lowerBound..<bytes.startIndex + e.value.upperBound]
            keys.append(key)
            hashes.append(DigestIndex.hash(key: key, bytes: value))
            ranges.append(e.key.lowerBound..<e.value.upperBound)
        }
        guard !keys.isEmpty else { return nil }
        self.keys = keys
        self.hashes = hashes
        self.ranges = ranges
        self.object = found.object
    }

    /// `bytes` (the message this index was made from) without the entries at `drop`.
    public func removing(_ drop: Set<Int>, from bytes: Data) -> Data {
        guard !drop.isEmpty else { return bytes }
        var out = Data()
        out.reserveCapacity(bytes.count)
        let base = bytes.startIndex
        out.append(bytes[base..<base + object.lowerBound])
        var first = true
        for (i, r) in ranges.enumerated() where !drop.contains(i) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(bytes[base + r.lowerBound..<base + r.upperBound])
        }
        out.append(bytes[base + object.upperBound..<bytes.endIndex])
        return out
    }

    /// A JSON string literal's value; plain ones without a decoder.
    private static func unquote(_ literal: Data) -> String? {
        guard literal.count >= 2 else { return nil }
        if !literal.contains(UInt8(ascii: "\\")) {
            return String(decoding: literal.dropFirst().dropLast(), as: UTF8.self)
        }
        return try? JSONReader.read(literal) { try $0.readString() }
    }

    /// A minimal structural JSON scanner: strings (with escapes) and nesting, nothing decoded.
    private struct Scanner {
        let b: UnsafeRawBufferPointer
        var i = 0

        init(_ b: UnsafeRawBufferPointer) { self.b = b }

        struct Found {
            var object: Range<Int>
            var entries: [(key: Range<Int>, value: Range<Int>)]
        }

        mutating func entries() -> Found? {
            guard consume("{") else { return nil }
            while true {
                guard let key = string() else { return nil }
                guard consume(":") else { return nil }
                if literal(key, is: "body") { return body() }
                guard skipValue(), consume(",") else { return nil }
            }
        }

        private mutating func body() -> Found? {
            guard consume("{"), string() != nil, consume(":"), consume("{") else { return nil }
            while true {
                guard let key = string(), consume(":") else { return nil }
                if literal(key, is: "entries") { return entryObject() }
                guard skipValue(), consume(",") else { return nil }
            }
        }

        private mutating func entryObject() -> Found? {
            guard consume("{") else { return nil }
            let start = i
            var found = Found(object: start..<start, entries: [])
            skipSpace()
            if peek() == UInt8(ascii: "}") {
                i += 1
                return found
            }
            while true {
                skipSpace()
                guard let key = string(), consume(":") else { return nil }
                skipSpace()
                let vStart = i
                guard skipValue() else { return nil }
                found.entries.append((key, vStart..<i))
                skipSpace()
                guard let c = peek() else { return nil }
                i += 1
                if c == UInt8(ascii: "}") {
                    found.object = start..<(i - 1)
                    return found
                }
                guard c == UInt8(ascii: ",") else { return nil }
            }
        }

        private func literal(_ r: Range<Int>, is name: StaticString) -> Bool {
            guard r.count == name.utf8CodeUnitCount + 2 else { return false }
            let n = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
            for k in 0..<n.count where b[r.lowerBound + 1 + k] != n[k] { return false }
            return true
        }

        private func peek() -> UInt8? { i < b.count ? b[i] : nil }

        private mutating func skipSpace() {
            while let c = peek(), c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09 { i += 1 }
        }

        private mutating func consume(_ c: Unicode.Scalar) -> Bool {
            skipSpace()
            guard peek() == UInt8(ascii: c) else { return false }
            i += 1
            return true
        }

        /// A string literal's range, quotes included.
        private mutating func string() -> Range<Int>? {
            skipSpace()
            guard peek() == UInt8(ascii: "\"") else { return nil }
            let start = i
            i += 1
            while let c = peek() {
                i += 1
                if c == UInt8(ascii: "\\") {
                    i += 1
                } else if c == UInt8(ascii: "\"") {
                    return start..<i
                }
            }
            return nil
        }

        /// Skips one value of any kind; false if the bytes end first or do not nest properly.
        private mutating func skipValue() -> Bool {
            skipSpace()
            guard let c = peek() else { return false }
            if c == UInt8(ascii: "\"") { return string() != nil }
            if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                var depth = 0
                while let d = peek() {
                    switch d {
                    case UInt8(ascii: "\""):
                        guard string() != nil else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            i += 1
                            return true
                        }
                    default:
                        break
                    }
                    i += 1
                }
                return false
            }
            // A number, true, false or null: up to the next delimiter.
            let start = i
            while let d = peek(), d != UInt8(ascii: ","), d != UInt8(ascii: "}"), d != UInt8(ascii: "]"),
                  d != 0x20, d != 0x0a, d != 0x0d, d != 0x09 { i += 1 }
            return i > start
        }
    }
}
