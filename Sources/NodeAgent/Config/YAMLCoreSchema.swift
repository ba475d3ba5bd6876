import Foundation
import ClusterCore

/// Scalar resolution by the YAML 1.2 core schema: plain `null`/`~`/empty, booleans, integers
/// (decimal, `0o`, `0x`) and floats become JSON values; quoted and block scalars stay strings.
public enum YAMLCoreSchema {
    static let strTag = "tag:yaml.org,2002:str"
    static let nullTag = "tag:yaml.org,2002:null"
    static let boolTag = "tag:yaml.org,2002:bool"
    static let intTag = "tag:yaml.org,2002:int"
    static let floatTag = "tag:yaml.org,2002:float"

    /// Resolves one scalar. An explicit tag forces the type and must match the text.
    public static func resolve(_ scalar: YAMLScalar, at mark: Mark) throws(YAMLError) -> JSONValue {
        let text = scalar.value
        switch scalar.tag {
        case nil, "!":
            guard scalar.style.isPlain, scalar.tag == nil else { return .string(text) }
            return try implicit(text, at: mark)
        case strTag:
            return .string(text)
        case nullTag:
            if isNull(text) { return .null }
        case boolTag:
            if let b = bool(text) { return .bool(b) }
        case intTag:
            if let i = integer(text) { return .number(i) }
        case floatTag:
            if let f = integer(text) ?? float(text) { return try finite(f, text, at: mark) }
        default:
            throw YAMLError(mark: mark, problem: "unsupported tag '\(scalar.tag ?? "")'")
        }
        throw YAMLError(mark: mark, problem: "'\(text)' does not match its tag '\(scalar.tag ?? "")'")
    }

    static func implicit(_ text: String, at mark: Mark) throws(YAMLError) -> JSONValue {
        if isNull(text) { return .null }
        if let b = bool(text) { return .bool(b) }
        if let i = integer(text) { return .number(i) }
        if let f = float(text) { return try finite(f, text, at: mark) }
        return .string(text)
    }

    static func finite(_ d: Double, _ text: String, at mark: Mark) throws(YAMLError) -> JSONValue {
        guard d.isFinite else { throw YAMLError(mark: mark, problem: "'\(text)' is not a JSON number (infinity and NaN are not allowed)") }
        return .number(d)
    }

    static func isNull(_ t: String) -> Bool { t.isEmpty || t == "~" || t == "null" || t == "Null" || t == "NULL" }

    static func bool(_ t: String) -> Bool? {
        switch t {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }

    static func integer(_ t: String) -> Double? {
        let u = Array(t.utf8)
        guard !u.isEmpty else { return nil }
        if u.count > 2, u[0] == UInt8(ascii: "0"), u[1] == UInt8(ascii: "o") {
            return Int64(String(t.dropFirst(2)), radix: 8).map(Double.init)
        }
        if u.count > 2, u[0] == UInt8(ascii: "0"), u[1] == UInt8(ascii: "x") {
            return Int64(String(t.dropFirst(2)), radix: 16).map(Double.init)
        }
        var i = 0
        if u[0] == UInt8(ascii: "-") || u[0] == UInt8(ascii: "+") { i = 1 }
        guard i < u.count, u[i...].allSatisfy(isDigit) else { return nil }
        return Double(u[0] == UInt8(ascii: "+") ? String(t.dropFirst()) : t)
    }

    static func float(_ t: String) -> Double? {
        switch t {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        // [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
        let u = Array(t.utf8)
        var i = 0
        if i < u.count, u[i] == UInt8(ascii: "-") || u[i] == UInt8(ascii: "+") { i += 1 }
        let intStart = i
        while i < u.count, isDigit(u[i]) { i += 1 }
        var mantissaDigits = i - intStart
        if i < u.count, u[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < u.count, isDigit(u[i]) { i += 1 }
            if mantissaDigits == 0 && i == fracStart { return nil }
            mantissaDigits += i - fracStart
        }
        guard mantissaDigits > 0 else { return nil }
        if i < u.count, u[i] == UInt8(ascii: "e") || u[i] == UInt8(ascii: "E") {
            i += 1
            if i < u.count, u[i] == UInt8(ascii: "-") || u[i] == UInt8(ascii: "+") { i += 1 }
            let expStart = i
            while i < u.count, isDigit(u[i]) { i += 1 }
            if i == expStart { return nil }
        }
        guard i == u.count else { return nil }
        var s = t
        if s.hasPrefix("+") { s.removeFirst() }
        if s.hasPrefix(".") { s = "0" + s } else if s.hasPrefix("-.") { s = "-0" + s.dropFirst() }
        if s.hasSuffix(".") { s += "0" }
        return Double(s.replacingOccurrences(of: ".e", with: ".0e").replacingOccurrences(of: ".E", with: ".0E"))
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}
