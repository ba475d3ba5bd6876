import Foundation

/// A type the deterministic encodings (`CRDTCoding.encode`, `JSONValue.encoded()`) write by hand instead of through
/// `JSONEncoder`. `write(to:)` must produce exactly the bytes `JSONEncoder` with `.sortedKeys` and
/// `.withoutEscapingSlashes` writes for the type's `Encodable` conformance (the CRDT tests compare
/// the two on random values): persisted replicas, digests and stored memory values depend on those bytes.
public protocol JSONWritable {
    /// Appends the value's JSON.
    func write(to writer: inout JSONWriter) throws
}

/// Why a value could not be written as JSON (a number JSON cannot hold).
public struct JSONWriteError: Error, Sendable, CustomStringConvertible {
    /// What was wrong.
    public let reason: String
    /// An error saying what was wrong.
    public init(reason: String) { self.reason = reason }
    public var description: String { "cannot encode as JSON: \(reason)" }
}

/// Compact JSON output, written as `JSONEncoder` (`.sortedKeys`, `.withoutEscapingSlashes`)
/// writes it: object keys in UTF-8 byte order, strings with `"`, `\` and control characters
/// escaped (short forms for \b \t \n \f \r) and everything else verbatim, doubles as Swift prints
/// them without a trailing `.0`.
public struct JSONWriter {
    /// The bytes written so far.
    public var bytes: [UInt8] = []

    /// An empty writer.
    @inlinable
    public init() { bytes.reserveCapacity(128) }

    /// A writer that appends to `bytes` (read them back from `bytes`).
    @inlinable
    public init(appendingTo bytes: [UInt8]) { self.bytes = bytes }

    /// Appends literal JSON (punctuation, a fixed key).
    @inlinable
    public mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Appends a string literal.
    @inlinable
    public mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): raw(#"\""#)
            case UInt8(ascii: "\\"): raw(#"\\"#)
            case 0x08: raw(#"\b"#)
            case 0x09: raw(#"\t"#)
            case 0x0A: raw(#"\n"#)
            case 0x0C: raw(#"\f"#)
            case 0x0D: raw(#"\r"#)
            case 0..<0x20:
                raw(#"\u00"#)
                bytes.append(Self.hex[Int(b >> 4)])
                bytes.append(Self.hex[Int(b & 0xF)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    @usableFromInline
    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends an integer.
    @inlinable
    public mutating func integer<T: BinaryInteger>(_ v: T) { bytes.append(contentsOf: String(v).utf8) }

    /// Appends a boolean.
    @inlinable
    public mutating func bool(_ b: Bool) { b ? raw("true") : raw("false") }

    /// Appends a double; throws for a non-finite one, which JSON cannot hold.
    public mutating func double(_ d: Double) throws {
        guard d.isFinite else { throw JSONWriteError(reason: "\(d) is not a finite number") }
        let text = d.description
        bytes.append(contentsOf: text.hasSuffix(".0") ? text.utf8.dropLast(2) : text.utf8[...])
    }

    /// Appends any encodable value: `JSONWritable` ones directly, others through `JSONEncoder`.
    @inlinable
    public mutating func value<T: Encodable>(_ v: T) throws {
        if let w = v as? any JSONWritable {
            try w.write(to: &self)
        } else {
            bytes.append(contentsOf: try Self.encodeWithFoundation(v))
        }
    }

    /// `value` through `JSONEncoder` (`.sortedKeys`, `.withoutEscapingSlashes`): the reference
    /// `JSONWritable` types are held to, and the path for types that do not write themselves.
    public static func encodeWithFoundation<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// Appends an object with `dict`'s keys in UTF-8 byte order, each value written by `value`.
    @inlinable
    public mutating func object<K, V>(_ dict: [K: V], key: (K) -> String,
                                      _ value: (inout JSONWriter, V) throws -> Void) rethrows {
        raw("{")
        var first = true
        for (k, v) in dict.map({ (key($0.key), $0.value) }).sorted(by: { Self.precedes($0.0, $1.0) }) {
            if !first { raw(",") }
            first = false
            string(k)
            raw(":")
            try value(&self, v)
        }
        raw("}")
    }

    /// An array of `items`, each written by `element`.
    @inlinable
    public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) throws -> Void) rethrows {
        raw("[")
        var first = true
        for item in items {
            if !first { raw(",") }
            first = false
            try element(&self, item)
        }
        raw("]")
    }

    /// UTF-8 byte order, as `JSONEncoder` sorts keys.
    public static func precedes(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = min(x.count, y.count)
                if n > 0, let xp = x.baseAddress, let yp = y.baseAddress {
                    let c = memcmp(xp, yp, n)
                    if c != 0 { return c < 0 }
                }
                return x.count < y.count
            }
        }
    }
}

// MARK: - Standard types

extension String: JSONWritable {
    @inlinable
    public func write(to writer: inout JSONWriter) throws { writer.string(self) }
}

extension Bool: JSONWritable {
    @inlinable
    public func write(to writer: inout JSONWriter) throws { writer.bool(self) }
}

extension Double: JSONWritable {
    @inlinable
    public func write(to writer: inout JSONWriter) throws { try writer.double(self) }
}

extension Int: JSONWritable {
    @inlinable
    public func write(to writer: inout JSONWriter) throws { writer.integer(self) }
}

extension Int64: JSONWritable {
    @inlinable
    public func write(to writer: inout JSONWriter) throws { writer.integer(self) }
}

extension UInt64: JSONWritable {
    @inlinable
    public func write(to writer: inout JSONWriter) throws { writer.integer(self) }
}

extension UInt32: JSONWritable {
    @inlinable
    public func write(to writer: inout JSONWriter) throws { writer.integer(self) }
}
