import ClusterCore
import Foundation

/// A response: a status, headers and either a complete body or a stream of chunks.
public struct HTTPResponse: Sendable {
    /// The body of a response.
    public enum Body: Sendable {
        /// A complete body.
        case data(Data)
        /// Chunks sent as they arrive (chunked encoding). The stream ends the response when it finishes;
        /// when the client goes away the server cancels the task iterating it, which fires the
        /// producer's `onTermination`. `heartbeat` is written when no chunk came for the server's
        /// heartbeat interval, which both keeps proxies open and reveals a vanished client.
        case stream(AsyncStream<Data>, heartbeat: Data?)
    }

    /// HTTP status code.
    public var status: Int
    /// Response headers (Content-Length is set by the server).
    public var headers: [String: String]
    /// The body.
    public var body: Body

    /// Creates a response.
    public init(status: Int = 200, headers: [String: String] = [:], body: Body = .data(Data())) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response (compact, sorted keys).
    public static func json(_ value: JSONValue, status: Int = 200) -> HTTPResponse {
        var data = value.encoded()
        data.append(0x0A)
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: .data(data))
    }

    /// A plain-text response; `/metrics` passes the Prometheus content type.
    public static func text(_ text: String, status: Int = 200,
                            contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: .data(Data(text.utf8)))
    }

    /// An empty 204.
    public static var noContent: HTTPResponse { HTTPResponse(status: 204) }

    /// A Server-Sent Events stream: each element is already framed (see `SSE.frame`).
    public static func eventStream(_ chunks: AsyncStream<Data>) -> HTTPResponse {
        HTTPResponse(status: 200,
                     headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-cache"],
                     body: .stream(chunks, heartbeat: Data(": keepalive\n\n".utf8)))
    }

    /// A JSON error response.
    public static func error(_ error: HTTPError) -> HTTPResponse { error.response }
}

/// Server-Sent Events framing.
public enum SSE {
    /// One event frame: optional `id:` and `event:` lines, then the data split into `data:` lines.
    public static func frame(data: String, event: String? = nil, id: String? = nil) -> Data {
        var text = ""
        if let id { text += "id: \(sanitize(id))\n" }
        if let event { text += "event: \(sanitize(event))\n" }
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            text += "data: \(line.replacingOccurrences(of: "\r", with: ""))\n"
        }
        text += "\n"
        return Data(text.utf8)
    }

    /// The events of a subscription as SSE frames (`event:` = type, `data:` = the event as JSON),
    /// for `/v1/events`. Cancelling the consumer cancels the subscription.
    public static func stream(_ subscription: EventSubscription) -> AsyncStream<Data> {
        AsyncStream { continuation in
            let task = Task {
                for await event in subscription.events {
                    continuation.yield(frame(data: event.json.jsonString, event: event.type, id: String(event.id)))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in
                task.cancel()
                subscription.cancel()
            }
        }
    }

    private static func sanitize(_ s: String) -> String {
        s.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
    }
}
