import Foundation

/// A value SQLite stores: the five storage classes.
public enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

extension SQLiteValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension SQLiteValue {
    /// Text, or nil for any other storage class.
    public var textValue: String? { if case .text(let s) = self { return s } else { return nil } }
    /// An integer, or nil for any other storage class.
    public var integerValue: Int64? { if case .integer(let i) = self { return i } else { return nil } }
    /// A real, or an integer widened to Double; nil otherwise.
    public var realValue: Double? {
        switch self {
        case .real(let d): return d
        case .integer(let i): return Double(i)
        default: return nil
        }
    }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// `.real(date.timeIntervalSince1970)`, or `.null` for nil.
    public static func date(_ date: Date?) -> SQLiteValue {
        date.map { .real($0.timeIntervalSince1970) } ?? .null
    }
}
