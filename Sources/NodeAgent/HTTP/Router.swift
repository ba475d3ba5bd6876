/// Matches method + path patterns such as `/v1/processes/:id/pause` to handlers.
///
/// A path that matches some route but not for the request's method is a 405 with `Allow`;
/// no match is a 404. Handlers may throw `HTTPError` (rendered as is); any other error is a 500.
public struct Router: Sendable {
    /// A route handler.
    public typealias Handler = @Sendable (HTTPRequest) async throws -> HTTPResponse

    private struct Route: Sendable {
        let method: String
        let segments: [Segment]
        let handler: Handler
    }

    private enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    private var routes: [Route] = []

    /// An empty router.
    public init() {}

    /// Adds a route. `pattern` segments starting with `:` capture one path segment.
    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        let segments = Self.split(pattern).map { s -> Segment in
            s.hasPrefix(":") ? .parameter(String(s.dropFirst())) : .literal(s)
        }
        routes.append(Route(method: method.uppercased(), segments: segments, handler: handler))
    }

    /// Adds a GET route.
    public mutating func get(_ pattern: String, _ handler: @escaping Handler) { add("GET", pattern, handler) }
    /// Adds a POST route.
    public mutating func post(_ pattern: String, _ handler: @escaping Handler) { add("POST", pattern, handler) }
    /// Adds a PUT route.
    public mutating func put(_ pattern: String, _ handler: @escaping Handler) { add("PUT", pattern, handler) }
    /// Adds a DELETE route.
    public mutating func delete(_ pattern: String, _ handler: @escaping Handler) { add("DELETE", pattern, handler) }

    /// Routes one request and renders errors; this is the server's handler.
    @Sendable public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let parts = Self.split(request.path)
        var allowed: [String] = []
        for route in routes {
            guard let params = Self.match(route.segments, parts) else { continue }
            let method = request.method == "HEAD" ? "GET" : request.method
            guard route.method == method else {
                allowed.append(route.method)
                continue
            }
            var routed = request
            routed.pathParameters = params
            do {
                return try await route.handler(routed)
            } catch let error as HTTPError {
                return error.response
            } catch {
                return HTTPError.internalError("\(request.method) \(request.path) failed: \(error)").response
            }
        }
        if !allowed.isEmpty {
            var response = HTTPError.methodNotAllowed(request.method, path: request.path).response
            response.headers["Allow"] = Array(Set(allowed)).sorted().joined(separator: ", ")
            return response
        }
        return HTTPError.notFound("no route for \(request.path)").response
    }

    private static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private static func match(_ segments: [Segment], _ parts: [String]) -> [String: String]? {
        guard segments.count == parts.count else { return nil }
        var params: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let lit): if lit != part { return nil }
            case .parameter(let name): params[name] = part
            }
        }
        return params
    }
}
