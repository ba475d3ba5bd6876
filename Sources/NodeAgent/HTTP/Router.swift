/// Matches method + path patterns such as `/v1/processes/:id/pause` to handlers.
///
/// A path that matches some route but not for the request's method is a 405 with `Allow`;
/// no match is a 404. Handlers may throw `HTTPError` (rendered as is); any other error is a 500.
/// Routes added with `addImmediate` are synchronous and cheap: `handleImmediately` answers them on
/// the server's polling thread, without a Task hop.
public struct Router: Sendable {
    /// A route handler.
    public typealias Handler = @Sendable (HTTPRequest) async throws -> HTTPResponse
    /// A synchronous route handler that neither blocks nor waits (it may run on a polling thread).
    public typealias ImmediateHandler = @Sendable (HTTPRequest) throws(HTTPError) -> HTTPResponse

    private enum Action: Sendable {
        case async(Handler)
        case immediate(ImmediateHandler)
    }

    private struct Route: Sendable {
        let method: String
        let segments: [Segment]
        let action: Action
    }

    private enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    private enum Match {
        case route(Route, [String: String])
        case response(HTTPResponse)
    }

    private var routes: [Route] = []

    /// An empty router.
    public init() {}

    /// Adds a route. `pattern` segments starting with `:` capture one path segment.
    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        append(method, pattern, .async(handler))
    }

    /// Adds a synchronous route that `handleImmediately` may answer on the polling thread.
    public mutating func addImmediate(_ method: String, _ pattern: String, _ handler: @escaping ImmediateHandler) {
        append(method, pattern, .immediate(handler))
    }

    private mutating func append(_ method: String, _ pattern: String, _ action: Action) {
        let segments = Self.split(pattern).map { s -> Segment in
            s.hasPrefix(":") ? .parameter(String(s.dropFirst())) : .literal(s)
        }
        routes.append(Route(method: method.uppercased(), segments: segments, action: action))
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
        switch match(request) {
        case .response(let response):
            return response
        case .route(let route, let params):
            var routed = request
            routed.pathParameters = params
            switch route.action {
            case .immediate(let handler):
                return Self.run(handler, routed)
            case .async(let handler):
                do {
                    return try await handler(routed)
                } catch let error as HTTPError {
                    return error.response
                } catch {
                    return HTTPError.internalError("\(request.method) \(request.path) failed: \(error)").response
                }
            }
        }
    }

    /// Answers the request when its route is immediate (or when there is no route: 404/405);
    /// nil when it needs the async `handle`. Pass it as the server's `immediate` handler.
    @Sendable public func handleImmediately(_ request: HTTPRequest) -> HTTPResponse? {
        switch match(request) {
        case .response(let response):
            return response
        case .route(let route, let params):
            guard case .immediate(let handler) = route.action else { return nil }
            var routed = request
            routed.pathParameters = params
            return Self.run(handler, routed)
        }
    }

    private static func run(_ handler: ImmediateHandler, _ request: HTTPRequest) -> HTTPResponse {
        do { return try handler(request) } catch { return error.response }
    }

    private func match(_ request: HTTPRequest) -> Match {
        let parts = Self.split(request.path)
        let method = request.method == "HEAD" ? "GET" : request.method
        var allowed: [String] = []
        for route in routes {
            guard let params = Self.match(route.segments, parts) else { continue }
            guard route.method == method else {
                allowed.append(route.method)
                continue
            }
            return .route(route, params)
        }
        if !allowed.isEmpty {
            var response = HTTPError.methodNotAllowed(request.method, path: request.path).response
            response.headers["Allow"] = Array(Set(allowed)).sorted().joined(separator: ", ")
            return .response(response)
        }
        return .response(HTTPError.notFound("no route for \(request.path)").response)
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
