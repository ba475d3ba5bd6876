/// Why a call to a node's API failed. `description` is the line the CLI prints after "error: ".
public enum APIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The URL given with `--api` (or `AGENTVM_API`) is not an http(s) URL.
    case invalidURL(String)
    /// No HTTP answer at all: connection refused, timed out, reset.
    case unreachable(url: String, reason: String)
    /// The node answered with an error status and (usually) the documented error body.
    case status(Int, code: String, message: String, field: String?)
    /// The node answered 2xx with something that is not the documented JSON.
    case badResponse(String)

    public var description: String {
        switch self {
        case .invalidURL(let url):
            return "invalid API URL '\(url)' (expected e.g. http://127.0.0.1:7070)"
        case .unreachable(let url, let reason):
            return "cannot reach the node at \(url): \(reason) (is it running? start one with 'agentvm-node start', or pass --api URL)"
        case .status(let status, let code, let message, let field):
            let at = field.map { " (field: \($0))" } ?? ""
            return "\(message)\(at) [\(code), HTTP \(status)]"
        case .badResponse(let why):
            return "unexpected answer from the node: \(why)"
        }
    }

    /// The API's error code (`process_not_found`, ...), when the node sent one.
    public var code: String? {
        if case .status(_, let code, _, _) = self { return code }
        return nil
    }

    /// The HTTP status, when the node answered.
    public var httpStatus: Int? {
        if case .status(let status, _, _, _) = self { return status }
        return nil
    }
}
