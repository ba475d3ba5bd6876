import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP/1.1 JSON client for a node's API (docs/api.md): bearer token, per-request timeouts,
/// keep-alive through one URLSession, errors decoded from the documented error body.
public struct APIClient: Sendable {
    /// The node's base URL, e.g. http://127.0.0.1:7070.
    public let baseURL: URL
    /// Sent as `Authorization: Bearer TOKEN` when set.
    public let token: String?
    /// Default time a request may take.
    public let timeout: Duration
    private let session: URLSession

    /// Fails with `.invalidURL` unless `baseURL` is an http(s) URL with a host.
    public init(baseURL: String, token: String? = nil, timeout: Duration = .seconds(30)) throws(APIError) {
        var text = baseURL
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else { throw .invalidURL(baseURL) }
        self.baseURL = url
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        self.timeout = timeout
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = Self.seconds(timeout)
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        session = URLSession(configuration: config)
    }

    /// GET `path` and decode its JSON answer.
    public func get(_ path: String, query: [(String, String)] = []) async throws(APIError) -> JSONValue {
        try await call("GET", path, query: query)
    }

    /// POST `body` (JSON) to `path`.
    public func post(_ path: String, _ body: JSONValue? = nil, timeout: Duration? = nil) async throws(APIError) -> JSONValue {
        try await call("POST", path, body: body ?? .object([:]), timeout: timeout)
    }

    /// PUT `body` (JSON) to `path`.
    public func put(_ path: String, _ body: JSONValue) async throws(APIError) -> JSONValue {
        try await call("PUT", path, body: body)
    }

    /// DELETE `path`.
    public func delete(_ path: String) async throws(APIError) -> JSONValue {
        try await call("DELETE", path)
    }

    /// One request; a 2xx answer's JSON body (null for an empty body), else the node's error.
    public func call(_ method: String, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
                     timeout: Duration? = nil) async throws(APIError) -> JSONValue {
        var request = makeRequest(method, path, query: query, timeout: timeout ?? self.timeout)
        if let body {
            request.httpBody = body.encoded()
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw .unreachable(url: baseURL.absoluteString, reason: Self.reason(error))
        }
        guard let http = response as? HTTPURLResponse else { throw .badResponse("not an HTTP response") }
        return try Self.decode(status: http.statusCode, data)
    }

    /// Streams `path` as Server-Sent Events until the server closes it or the task is cancelled.
    public func events(_ path: String, query: [(String, String)] = []) -> AsyncThrowingStream<ServerSentEvent, Error> {
        // An idle stream is normal: only a failed connection may end it.
        var request = makeRequest("GET", path, query: query, timeout: .seconds(86_400 * 365))
        request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        let base = baseURL.absoluteString
        return AsyncThrowingStream { continuation in
            let reader = EventStreamReader(continuation: continuation, baseURL: base)
            let config = URLSessionConfiguration.ephemeral
            config.timeoutIntervalForRequest = Self.seconds(.seconds(86_400 * 365))
            config.timeoutIntervalForResource = Self.seconds(.seconds(86_400 * 365))
            let session = URLSession(configuration: config, delegate: reader, delegateQueue: nil)
            let task = session.dataTask(with: request)
            continuation.onTermination = { _ in
                task.cancel()
                session.invalidateAndCancel()
            }
            task.resume()
        }
    }

    /// The URL for `path` (which starts with "/") and `query`.
    public func url(_ path: String, query: [(String, String)] = []) -> URL {
        guard var parts = URLComponents(url: baseURL, resolvingAgainstBaseURL: false) else { return baseURL }
        parts.percentEncodedPath = parts.percentEncodedPath + path
        if !query.isEmpty {
            parts.percentEncodedQuery = query.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        }
        return parts.url ?? baseURL
    }

    /// Percent-encodes one path segment or query component: everything but RFC 3986's unreserved.
    public static func escape(_ text: String) -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private func makeRequest(_ method: String, _ path: String, query: [(String, String)], timeout: Duration) -> URLRequest {
        var request = URLRequest(url: url(path, query: query))
        request.httpMethod = method
        request.timeoutInterval = Self.seconds(timeout)
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        return request
    }

    /// A body decoded per docs/api.md: 2xx → JSON; otherwise `{"error": {code, message, field}}`.
    static func decode(status: Int, _ data: Data) throws(APIError) -> JSONValue {
        let json = data.isEmpty ? JSONValue.null : (try? JSONValue.parse(data))
        if (200..<300).contains(status) {
            guard let json else { throw .badResponse("HTTP \(status) with a body that is not JSON") }
            return json
        }
        if let error = json?["error"], let code = error["code"]?.stringValue {
            throw .status(status, code: code, message: error["message"]?.stringValue ?? code, field: error["field"]?.stringValue)
        }
        let text = String(decoding: data.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        throw .status(status, code: "http_\(status)", message: text.isEmpty ? "HTTP \(status)" : text, field: nil)
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSURLErrorDomain {
            switch ns.code {
            case NSURLErrorCannotConnectToHost: return "connection refused"
            case NSURLErrorTimedOut: return "timed out"
            case NSURLErrorNetworkConnectionLost: return "the connection was lost"
            case NSURLErrorCannotFindHost: return "unknown host"
            default: break
            }
        }
        return ns.localizedDescription
    }

    static func seconds(_ d: Duration) -> TimeInterval {
        let (s, atto) = d.components
        return TimeInterval(s) + TimeInterval(atto) / 1e18
    }
}
