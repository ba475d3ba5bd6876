import ClusterCore

/// A client-visible failure, rendered as `{"error": {"code", "message", "field"}}`.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status code (4xx or 5xx).
    public var status: Int
    /// A stable machine-readable code, e.g. "not_found".
    public var code: String
    /// A human-readable explanation.
    public var message: String
    /// The request field at fault, when one is.
    public var field: String?

    /// Creates an error with an explicit status and code.
    public init(status: Int, code: String, message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(status) \(code): \(message)" + (field.map { " (field \($0))" } ?? "") }

    /// 400: the request is malformed.
    public static func badRequest(_ message: String, field: String? = nil) -> HTTPError {
        HTTPError(status: 400, code: "bad_request", message: message, field: field)
    }
    /// 401: missing or wrong bearer token.
    public static func unauthorized(_ message: String = "missing or invalid bearer token") -> HTTPError {
        HTTPError(status: 401, code: "unauthorized", message: message)
    }
    /// 404: nothing at this path, or the named thing does not exist.
    public static func notFound(_ message: String, field: String? = nil) -> HTTPError {
        HTTPError(status: 404, code: "not_found", message: message, field: field)
    }
    /// 405: the path exists but not for this method.
    public static func methodNotAllowed(_ method: String, path: String) -> HTTPError {
        HTTPError(status: 405, code: "method_not_allowed", message: "method \(method) is not allowed on \(path)")
    }
    /// 413: the body is over the server's limit.
    public static func payloadTooLarge(limit: Int) -> HTTPError {
        HTTPError(status: 413, code: "payload_too_large", message: "request body exceeds the limit of \(limit) bytes")
    }
    /// 500: the server failed; the message should not leak internals the client cannot act on.
    public static func internalError(_ message: String = "internal server error") -> HTTPError {
        HTTPError(status: 500, code: "internal", message: message)
    }

    /// The error body as JSON.
    public var json: JSONValue {
        var inner: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        inner["field"] = field.map(JSONValue.string) ?? .null
        return ["error": .object(inner)]
    }

    /// The error as a response.
    public var response: HTTPResponse { HTTPResponse.json(json, status: status) }
}
