import ClusterCore
import Foundation

/// A request's JSON object body with typed field access; a missing or mistyped field is a 400
/// `invalid_argument` naming it.
struct RequestBody {
    let fields: [String: JSONValue]

    init(_ request: HTTPRequest) throws(HTTPError) {
        fields = try request.jsonObject()
    }

    init(fields: [String: JSONValue]) { self.fields = fields }

    static func invalid(_ field: String, _ message: String) -> HTTPError {
        HTTPError(status: 400, code: "invalid_argument", message: "field '\(field)' \(message)", field: field)
    }

    /// Whether the field is present (null counts as present).
    func has(_ field: String) -> Bool { fields[field] != nil }

    func value(_ field: String) -> JSONValue? { fields[field] }

    func required(_ field: String) throws(HTTPError) -> JSONValue {
        guard let v = fields[field] else { throw Self.invalid(field, "is required") }
        return v
    }

    func string(_ field: String) throws(HTTPError) -> String? {
        guard let v = fields[field], !v.isNull else { return nil }
        guard let s = v.stringValue else { throw Self.invalid(field, "must be a string, got \(v.typeName)") }
        return s
    }

    func requiredString(_ field: String) throws(HTTPError) -> String {
        guard let s = try string(field) else { throw Self.invalid(field, "is required") }
        guard !s.isEmpty else { throw Self.invalid(field, "must not be empty") }
        return s
    }

    func int(_ field: String, min: Int = Int.min, max: Int = Int.max) throws(HTTPError) -> Int? {
        guard let v = fields[field], !v.isNull else { return nil }
        guard let d = v.doubleValue else { throw Self.invalid(field, "must be an integer, got \(v.typeName)") }
        guard d.rounded() == d, d >= Double(Int32.min) * 1e6, d <= Double(Int32.max) * 1e6 else {
            throw Self.invalid(field, "must be an integer, got \(v.jsonString)")
        }
        let i = Int(d)
        guard i >= min else { throw Self.invalid(field, "must be at least \(min), got \(i)") }
        guard i <= max else { throw Self.invalid(field, "must be at most \(max), got \(i)") }
        return i
    }

    func number(_ field: String) throws(HTTPError) -> Double? {
        guard let v = fields[field], !v.isNull else { return nil }
        guard let d = v.doubleValue, d.isFinite else { throw Self.invalid(field, "must be a number, got \(v.typeName)") }
        return d
    }

    /// A positive number of milliseconds as a Duration.
    func milliseconds(_ field: String) throws(HTTPError) -> Duration? {
        guard let ms = try number(field) else { return nil }
        guard ms > 0, ms < 1e13 else { throw Self.invalid(field, "must be a positive number of milliseconds, got \(ms)") }
        return .nanoseconds(Int64((ms * 1_000_000).rounded()))
    }
}

/// Typed query parameters, with the same 400s as bodies.
struct QueryParameters {
    let query: [String: String]

    init(_ request: HTTPRequest) { query = request.query }

    func string(_ name: String) -> String? {
        guard let v = query[name], !v.isEmpty else { return nil }
        return v
    }

    func int(_ name: String, default value: Int, min: Int = 0, max: Int = Int.max) throws(HTTPError) -> Int {
        guard let raw = string(name) else { return value }
        guard let i = Int(raw) else { throw RequestBody.invalid(name, "must be an integer, got '\(raw)'") }
        guard i >= min, i <= max else { throw RequestBody.invalid(name, "must be between \(min) and \(max), got \(i)") }
        return i
    }
}
