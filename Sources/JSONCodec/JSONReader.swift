import Foundation

/// A type the replication decoder reads straight from JSON bytes, without Foundation's
/// `JSONDecoder`. `read(from:)` must accept exactly what the type's `Decodable` conformance accepts
/// from `JSONDecoder` and produce the same value (the CRDT tests compare the two on random values
/// and corrupted bytes). Types that do not conform are still decoded, through `Decodable`.
public protocol JSONReadable {
    /// Reads one value at the reader's position, leaving the reader after it.
    static func read(from reader: inout JSONReader) throws -> Self
}

/// Why JSON bytes were not read: where (the field path, as `JSONDecoder` names it, and the byte
/// offset) and what was wrong.
public struct JSONReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The field path, e.g. `body.state.entries.k1`; empty at the top level.
    public let path: String
    /// The byte offset in the input.
    public let offset: Int
    /// What was wrong.
    public let reason: String

    public var description: String {
        path.isEmpty ? "\(reason) (at byte \(offset))" : "\(path): \(reason) (at byte \(offset))"
    }
}

/// A pull parser over UTF-8 JSON bytes (RFC 8259, with the leniency `JSONDecoder` has: a trailing
/// comma in an array or object; the first of duplicate object keys counts). Values are read in
/// document order by typed calls; whatever is skipped is still checked to be well-formed.
///
/// A reader only exists inside `JSONReader.read(_:_:)`, which holds the bytes for it.
///
/// The reading methods are `@inlinable` (with `@usableFromInline` internals) so that callers in
/// other modules, such as the CRDT decoders, specialize and inline them as they would in this
/// module; error paths stay out of line.
public struct JSONReader {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var i = 0
    @usableFromInline var depth = 0
    /// The field path of the value being read, for error messages.
    @usableFromInline var path: [PathComponent] = []

    @usableFromInline
    enum PathComponent {
        case key(String)
        case field(StaticString)
        case index(Int)
    }

    /// Nesting deeper than this is rejected, as `JSONDecoder` does, so input cannot exhaust the stack.
    public static let maxDepth = 512

    @usableFromInline
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Reads one JSON document from `data` with `body`, then checks nothing but whitespace follows.
    @inlinable
    public static func read<T>(_ data: Data, _ body: (inout JSONReader) throws -> T) throws -> T {
        try data.withUnsafeBytes { raw in
            var reader = JSONReader(raw)
            let value = try body(&reader)
            try reader.finish()
            return value
        }
    }

    /// Decodes a whole document as `T`: with `read(from:)` when `T` is `JSONReadable`, otherwise
    /// with `JSONDecoder`.
    @inlinable
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if usesFoundation(data) { return try JSONDecoder().decode(type, from: data) }
        return try read(data) { try $0.read(T.self) }
    }

    /// Whether `data` is in a form only `JSONDecoder` handles (a byte-order mark, or UTF-16/32).
    @inlinable
    public static func usesFoundation(_ data: Data) -> Bool {
        guard let first = data.first else { return false }
        if first == 0xEF || first == 0xFE || first == 0xFF || first == 0 { return true }
        return data.count >= 2 && data[data.startIndex + 1] == 0
    }

    // MARK: - Errors

    /// An error at the current position naming the current field path.
    public func error(_ reason: String) -> JSONReadError { error(reason, at: i) }

    @usableFromInline
    func error(_ reason: String, at offset: Int) -> JSONReadError {
        JSONReadError(path: pathString, offset: offset, reason: reason)
    }

    private var pathString: String {
        path.map { c -> String in
            switch c {
            case .key(let k): return k
            case .field(let f): return f.description
            case .index(let n): return "Index \(n)"
            }
        }.joined(separator: ".")
    }

    // MARK: - Typed reads

    /// How many bytes are left after the current position.
    @inlinable
    public var bytesLeft: Int { bytes.count - i }

    /// The kinds of JSON value.
    public enum Kind: Sendable {
        case null, bool, number, string, array, object
    }

    /// The kind of the next value (after whitespace).
    @inlinable
    public mutating func peekKind() throws -> Kind {
        skipSpace()
        guard i < bytes.count else { throw error("unexpected end of data") }
        switch bytes[i] {
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw error("unexpected character '\(Self.show(bytes[i]))'")
        }
    }

    /// Consumes `null` if it comes next; false (consuming nothing) otherwise.
    @inlinable
    public mutating func readNull() throws -> Bool {
        guard try peekKind() == .null else { return false }
        try literal("null")
        return true
    }

    /// Reads `true` or `false`.
    @inlinable
    public mutating func readBool() throws -> Bool {
        let kind = try peekKind()
        guard kind == .bool else { throw mismatch(Bool.self, kind) }
        if bytes[i] == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        try literal("false")
        return false
    }

    /// Reads a string, unescaping it.
    @inlinable
    public mutating func readString() throws -> String {
        let kind = try peekKind()
        guard kind == .string else { throw mismatch(String.self, kind) }
        return try scanString()
    }

    /// Reads a number as a `Double`, as `JSONDecoder` does: rejected if out of range (infinite,
    /// or rounded to zero from non-zero digits).
    @inlinable
    public mutating func readDouble() throws -> Double {
        let kind = try peekKind()
        guard kind == .number else { throw mismatch(Double.self, kind) }
        let start = i
        let n = try scanNumber()
        if n.plain, n.end - n.digitsStart <= 15 {
            let magnitude = Double(Self.digitValue(bytes, n.digitsStart, n.end))
            return n.negative ? -magnitude : magnitude
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<n.end]), as: UTF8.self)
        guard let d = Double(text), d.isFinite, d != 0 || Self.isTrueZero(bytes, start, n.end) else {
            throw error("number \(text) is not representable as Double", at: start)
        }
        return d
    }

    /// Reads a number as an integer of type `T`, as `JSONDecoder` does: an integer literal that
    /// fits, or (through `JSONDecoder` itself, for exactness) a fraction or exponent form.
    @inlinable
    public mutating func readInteger<T: FixedWidthInteger & Decodable>(_ type: T.Type = T.self) throws -> T {
        let kind = try peekKind()
        guard kind == .number else { throw mismatch(T.self, kind) }
        let start = i
        let n = try scanNumber()
        if n.plain {
            var magnitude: UInt64 = 0
            var overflow = false
            for k in n.digitsStart..<n.end {
                let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(UInt64(bytes[k] &- 0x30))
                magnitude = s
                overflow = overflow || o1 || o2
            }
            if !overflow {
                if !n.negative, let v = T(exactly: magnitude) { return v }
                if n.negative {
                    if magnitude == 0 { return 0 }
                    if T.isSigned, magnitude <= UInt64(Int64.max) + 1 {
                        let signed = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
                        if let v = T(exactly: signed) { return v }
                    }
                }
            }
            throw error("number \(Self.text(bytes, start, n.end)) is not representable as \(T.self)", at: start)
        }
        // Fractions and exponents are rare: JSONDecoder's own rules decide them.
        return try integerWithFoundation(T.self, start, n.end)
    }

    @usableFromInline
    func integerWithFoundation<T: FixedWidthInteger & Decodable>(_ type: T.Type, _ start: Int, _ end: Int) throws -> T {
        let slice = Data(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        do { return try JSONDecoder().decode(T.self, from: slice) } catch {
            throw self.error("number \(Self.text(bytes, start, end)) is not representable as \(T.self)", at: start)
        }
    }

    /// Reads an array, calling `element` once per element with the reader at it; `element` must
    /// read (or skip) exactly one value.
    @inlinable
    public mutating func readArray(_ element: (inout JSONReader, Int) throws -> Void) throws {
        let kind = try peekKind()
        guard kind == .array else { throw mismatch([Any].self, kind) }
        try enter()
        i += 1
        var n = 0
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return
        }
        while true {
            path.append(.index(n))
            try element(&self, n)
            path.removeLast()
            n += 1
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of data in an array") }
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "]") { break }
            guard c == UInt8(ascii: ",") else { throw error("expected ',' or ']' in an array, found '\(Self.show(c))'", at: i - 1) }
            skipSpace()
            // A trailing comma, as JSONDecoder allows.
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                i += 1
                break
            }
        }
        depth -= 1
    }

    /// Reads an object, calling `member` with each key in document order and the reader at its
    /// value; `member` must read (or skip) exactly that value. Duplicate keys are all passed on:
    /// `JSONDecoder` counts the first, so a caller keeping values must skip the others
    /// (`readMap` does).
    @inlinable
    public mutating func readObject(_ member: (inout JSONReader, String) throws -> Void) throws {
        try members { r in
            let key = try r.scanString()
            try r.colon()
            r.path.append(.key(key))
            try member(&r, key)
            r.path.removeLast()
        }
    }

    /// Reads an object into a dictionary, the first of duplicate keys counting; `capacity` is
    /// reserved up front (a guess of the count saves rehashing a large map as it grows).
    @inlinable
    public mutating func readMap<V>(capacity: Int = 0, _ value: (inout JSONReader) throws -> V) throws -> [String: V] {
        var out: [String: V] = [:]
        if capacity > 0 { out.reserveCapacity(capacity) }
        try readObject { r, key in
            if out[key] == nil { out[key] = try value(&r) } else { try r.skipValue() }
        }
        return out
    }

    /// Reads an object with the fields `keys`, as a synthesized `Decodable` struct does: `field`
    /// is called with the index of each known key (the first of duplicates) and must read its
    /// value; unknown keys are skipped; a key not found that is not in `optional` is an error.
    @inlinable
    public mutating func readFields(_ keys: [StaticString], optional: [StaticString] = [],
                                    _ field: (inout JSONReader, Int) throws -> Void) throws {
        var found: UInt64 = 0
        try members { r in
            let k = try r.scanKey(keys)
            try r.colon()
            guard let k, found & (1 << UInt64(k)) == 0 else { return try r.skipValue() }
            found |= 1 << UInt64(k)
            r.path.append(.field(keys[k]))
            try field(&r, k)
            r.path.removeLast()
        }
        for (k, name) in keys.enumerated() where found & (1 << UInt64(k)) == 0 {
            if !optional.contains(where: { Self.same($0, name) }) { throw error("key '\(name)' not found") }
        }
    }

    /// Reads an enum as a synthesized `Decodable` does: an object with exactly one key naming a
    /// case (unknown keys are ignored), whose value `payload` reads given the case's index.
    @inlinable
    public mutating func readCase(_ cases: [StaticString], _ payload: (inout JSONReader, Int) throws -> Void) throws {
        var seen: UInt64 = 0
        var distinct = 0
        try members { r in
            let k = try r.scanKey(cases)
            try r.colon()
            guard let k, seen & (1 << UInt64(k)) == 0 else { return try r.skipValue() }
            seen |= 1 << UInt64(k)
            distinct += 1
            guard distinct == 1 else { return try r.skipValue() }
            r.path.append(.field(cases[k]))
            try payload(&r, k)
            r.path.removeLast()
        }
        guard distinct == 1 else { throw error("invalid number of keys found, expected one") }
    }

    /// The object syntax: `{`, members separated by commas (a trailing one allowed), `}`.
    /// `member` is called at each member's key and must read the key, the colon and the value.
    @inlinable
    mutating func members(_ member: (inout JSONReader) throws -> Void) throws {
        let kind = try peekKind()
        guard kind == .object else { throw mismatch([String: Any].self, kind) }
        try enter()
        i += 1
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string key in an object") }
            try member(&self)
            skipSpace()
            guard i < bytes.count else { throw error("unexpected end of data in an object") }
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "}") { break }
            guard c == UInt8(ascii: ",") else { throw error("expected ',' or '}' in an object, found '\(Self.show(c))'", at: i - 1) }
            skipSpace()
            // A trailing comma, as JSONDecoder allows.
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
                break
            }
        }
        depth -= 1
    }

    @inlinable
    mutating func colon() throws {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
        i += 1
    }

    /// Reads the key at `i` and returns its index in `names`, nil when it is none of them. A plain
    /// ASCII key is compared in place, without making a string.
    @inlinable
    mutating func scanKey(_ names: [StaticString]) throws -> Int? {
        var j = i + 1
        while j < bytes.count {
            let c = bytes[j]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { break }
            j += 1
        }
        if j < bytes.count, bytes[j] == UInt8(ascii: "\"") {
            let start = i + 1, count = j - start
            i = j + 1
            for (n, name) in names.enumerated() where name.utf8CodeUnitCount == count {
                if count == 0 || memcmp(name.utf8Start, bytes.baseAddress.map { $0 + start } ?? UnsafeRawPointer(name.utf8Start), count) == 0 {
                    return n
                }
            }
            return nil
        }
        let key = try scanString()
        return Self.caseIndex(key, in: names)
    }

    @inlinable
    static func same(_ a: StaticString, _ b: StaticString) -> Bool {
        a.utf8CodeUnitCount == b.utf8CodeUnitCount && memcmp(a.utf8Start, b.utf8Start, a.utf8CodeUnitCount) == 0
    }

    /// The position of `key` in `names`, compared byte for byte.
    @inlinable
    static func caseIndex(_ key: String, in names: [StaticString]) -> Int? {
        var key = key
        return key.withUTF8 { kb in
            for (n, name) in names.enumerated() where name.utf8CodeUnitCount == kb.count {
                if kb.isEmpty || memcmp(name.utf8Start, kb.baseAddress ?? UnsafePointer(name.utf8Start), kb.count) == 0 { return n }
            }
            return nil
        }
    }

    /// Skips one value, checking it is well-formed.
    @inlinable
    public mutating func skipValue() throws {
        switch try peekKind() {
        case .null: try literal("null")
        case .bool: _ = try readBool()
        case .number: _ = try scanNumber()
        case .string: try skipString()
        case .array: try readArray { r, _ in try r.skipValue() }
        case .object:
            try members { r in
                try r.skipString()
                try r.colon()
                try r.skipValue()
            }
        }
    }

    /// Reads a value of any decodable type: `JSONReadable` types directly, others through
    /// `JSONDecoder` on the value's bytes.
    @inlinable
    public mutating func read<T: Decodable>(_ type: T.Type) throws -> T {
        if let readable = T.self as? any JSONReadable.Type {
            return try readOpened(readable, as: T.self)
        }
        return try readWithFoundation(T.self)
    }

    @inlinable
    mutating func readOpened<R: JSONReadable, T>(_ readable: R.Type, as: T.Type) throws -> T {
        guard let value = try R.read(from: &self) as? T else { throw error("cannot read \(T.self)") }
        return value
    }

    @usableFromInline
    mutating func readWithFoundation<T: Decodable>(_ type: T.Type) throws -> T {
        skipSpace()
        let start = i
        try skipValue()
        let slice = Data(UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
        do { return try JSONDecoder().decode(T.self, from: slice) } catch {
            throw self.error("\(error)", at: start)
        }
    }

    // MARK: - Scanning

    @usableFromInline
    func mismatch(_ type: Any.Type, _ found: Kind) -> JSONReadError {
        error("expected to decode \(type) but found \(found) instead")
    }

    @inlinable
    mutating func enter() throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw error("nested more than \(Self.maxDepth) levels deep") }
    }

    @inlinable
    mutating func finish() throws {
        skipSpace()
        guard i == bytes.count else { throw error("unexpected '\(Self.show(bytes[i]))' after the JSON value") }
    }

    @inlinable
    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    @inlinable
    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw error("unexpected end of data") }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] {
            throw error("invalid literal, expected '\(word)'")
        }
        i += n
    }

    /// A scanned number: where its digits start, where it ends, and whether it is an integer
    /// literal (no fraction or exponent).
    @usableFromInline
    struct NumberToken {
        @usableFromInline let negative: Bool
        @usableFromInline let digitsStart: Int
        @usableFromInline let end: Int
        @usableFromInline let plain: Bool

        @inlinable
        init(negative: Bool, digitsStart: Int, end: Int, plain: Bool) {
            self.negative = negative
            self.digitsStart = digitsStart
            self.end = end
            self.plain = plain
        }
    }

    /// Scans `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    @inlinable
    mutating func scanNumber() throws -> NumberToken {
        let start = i
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        let digitsStart = i
        guard i < bytes.count, Self.isDigit(bytes[i]) else { throw error("invalid number", at: start) }
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < bytes.count, Self.isDigit(bytes[i]) { i += 1 }
        }
        var plain = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            plain = false
            i += 1
            guard i < bytes.count, Self.isDigit(bytes[i]) else { throw error("invalid number: no digits after '.'", at: start) }
            while i < bytes.count, Self.isDigit(bytes[i]) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            plain = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < bytes.count, Self.isDigit(bytes[i]) else { throw error("invalid number: no digits in the exponent", at: start) }
            while i < bytes.count, Self.isDigit(bytes[i]) { i += 1 }
        }
        // A number runs up to a delimiter: `01` or `1x` is not a number.
        if i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x0A, 0x0D, 0x09: break
            default: throw error("invalid number", at: start)
            }
        }
        return NumberToken(negative: negative, digitsStart: digitsStart, end: i, plain: plain)
    }

    @inlinable
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    @inlinable
    static func digitValue(_ b: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Int64 {
        var v: Int64 = 0
        for k in from..<to { v = v * 10 + Int64(b[k] &- 0x30) }
        return v
    }

    /// Whether a number that parsed as zero has no non-zero digit before its exponent (so it is
    /// zero, not an underflow).
    @usableFromInline
    static func isTrueZero(_ b: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Bool {
        for k in from..<to {
            switch b[k] {
            case UInt8(ascii: "1")...UInt8(ascii: "9"): return false
            case UInt8(ascii: "e"), UInt8(ascii: "E"): return true
            default: continue
            }
        }
        return true
    }

    @usableFromInline
    static func text(_ b: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: b[from..<to]), as: UTF8.self)
    }

    @usableFromInline
    static func show(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? String(UnicodeScalar(c)) : "\\u{\(String(c, radix: 16))}"
    }

    /// Skips a string, checking its escapes and UTF-8.
    @inlinable
    mutating func skipString() throws { _ = try scanString() }

    /// Reads the string literal at `i` (which is a quote).
    @inlinable
    mutating func scanString() throws -> String {
        let start = i
        i += 1
        let contentStart = i
        var ascii = true
        // The common case: no escapes.
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                let content = UnsafeRawBufferPointer(rebasing: bytes[contentStart..<i])
                i += 1
                if ascii { return String(decoding: content, as: UTF8.self) }
                guard let s = String(validating: content, as: UTF8.self) else {
                    throw error("string is not valid UTF-8", at: start)
                }
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error("unescaped control character in a string", at: i) }
            if c >= 0x80 { ascii = false }
            i += 1
        }
        guard i < bytes.count else { throw error("unterminated string", at: start) }
        // Escapes: build the bytes.
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[contentStart..<i]))
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                guard let s = String(validating: out, as: UTF8.self) else {
                    throw error("string is not valid UTF-8", at: start)
                }
                return s
            }
            if c < 0x20 { throw error("unescaped control character in a string", at: i) }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { break }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                let at = i - 2
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by an escaped low one.
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in a string escape", at: at)
                    }
                    i += 2
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw error("unpaired surrogate in a string escape", at: at) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw error("unpaired surrogate in a string escape", at: at)
                }
                guard let u = Unicode.Scalar(scalar) else { throw error("invalid string escape", at: at) }
                out.append(contentsOf: UTF8.encode(u).map { Array($0) } ?? [])
            default:
                throw error("invalid escape '\\\(Self.show(e))' in a string", at: i - 2)
            }
        }
        throw error("unterminated string", at: start)
    }

    @inlinable
    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = bytes[i + k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - 0x30
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - 0x61 + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - 0x41 + 10
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
        }
        i += 4
        return v
    }
}

// MARK: - Standard types

extension String: JSONReadable {
    @inlinable
    public static func read(from reader: inout JSONReader) throws -> String { try reader.readString() }
}

extension Bool: JSONReadable {
    @inlinable
    public static func read(from reader: inout JSONReader) throws -> Bool { try reader.readBool() }
}

extension Double: JSONReadable {
    @inlinable
    public static func read(from reader: inout JSONReader) throws -> Double { try reader.readDouble() }
}

extension Int: JSONReadable {
    @inlinable
    public static func read(from reader: inout JSONReader) throws -> Int { try reader.readInteger() }
}

extension Int64: JSONReadable {
    @inlinable
    public static func read(from reader: inout JSONReader) throws -> Int64 { try reader.readInteger() }
}

extension UInt64: JSONReadable {
    @inlinable
    public static func read(from reader: inout JSONReader) throws -> UInt64 { try reader.readInteger() }
}

extension UInt32: JSONReadable {
    @inlinable
    public static func read(from reader: inout JSONReader) throws -> UInt32 { try reader.readInteger() }
}
