import ClusterCore
import Foundation

/// One HTTP request as the server hands it to a handler: the body is complete and within the limit.
public struct HTTPRequest: Sendable {
    /// Upper-case method, e.g. "GET".
    public var method: String
    /// The decoded path without the query, e.g. "/v1/processes/p1".
    public var path: String
    /// Query arguments, decoded; a bare `?flag` maps to "".
    public var query: [String: String]
    /// Headers with lower-cased names.
    public var headers: [String: String]
    /// The request body (empty when none).
    public var body: Data
    /// Values captured by `:name` segments of the matched route.
    public var pathParameters: [String: String]

    /// Creates a request; tests and the router build these directly.
    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
                body: Data = Data(), pathParameters: [String: String] = [:]) {
        self.method = method.uppercased()
        self.path = path
        self.query = query
        var lowered: [String: String] = [:]
        for (k, v) in headers { lowered[k.lowercased()] = v }
        self.headers = lowered
        self.body = body
        self.pathParameters = pathParameters
    }

    /// A header by case-insensitive name.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// A path parameter captured by the route, or a 400 naming it when absent.
    public func parameter(_ name: String) throws(HTTPError) -> String {
        guard let v = pathParameters[name], !v.isEmpty else {
            throw HTTPError.badRequest("missing path parameter '\(name)'", field: name)
        }
        return v
    }

    /// The body parsed as JSON; an empty body is `nil`. Malformed JSON is a 400 that names the problem.
    public func jsonBody() throws(HTTPError) -> JSONValue? {
        if body.isEmpty || body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return nil }
        do {
            return try JSONValue.parse(body)
        } catch {
            let reason = (error as? JSONValue.ParseError)?.reason ?? String(describing: error)
            throw HTTPError(status: 400, code: "invalid_json",
                            message: "request body is not valid JSON: \(reason)", field: nil)
        }
    }

    /// The body as a JSON object; an empty body is an empty object, anything else is a 400.
    public func jsonObject() throws(HTTPError) -> [String: JSONValue] {
        guard let value = try jsonBody() else { return [:] }
        guard let object = value.objectValue else {
            throw HTTPError(status: 400, code: "invalid_json",
                            message: "request body must be a JSON object, got \(value.typeName)", field: nil)
        }
        return object
    }
}
