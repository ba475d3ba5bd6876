import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// URLSession delegate that turns a streamed response body into `ServerSentEvent`s. URLSession
/// calls it on its own queue; the parser sits behind a mutex so the class is safely Sendable.
final class EventStreamReader: NSObject, URLSessionDataDelegate, Sendable {
    private let continuation: AsyncThrowingStream<ServerSentEvent, Error>.Continuation
    private let parser = Mutex(ServerSentEventParser())
    private let failure = Mutex<APIError?>(nil)
    private let errorBody = Mutex(Data())
    private let started = Mutex(false)
    private let baseURL: String

    init(continuation: AsyncThrowingStream<ServerSentEvent, Error>.Continuation, baseURL: String) {
        self.continuation = continuation
        self.baseURL = baseURL
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            // Keep reading: the error body says why.
            failure.withLock { $0 = .status(http.statusCode, code: "http_\(http.statusCode)", message: "HTTP \(http.statusCode)", field: nil) }
        } else {
            started.withLock { $0 = true }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        if let failed = failure.withLock({ $0 }), let status = failed.httpStatus {
            let body = errorBody.withLock { body -> Data? in
                body.append(data)
                return body
            }
            if let body, let decoded = Self.error(status: status, body) { failure.withLock { $0 = decoded } }
            return
        }
        for event in parser.withLock({ $0.feed(data) }) { continuation.yield(event) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if let failed = failure.withLock({ $0 }) {
            continuation.finish(throwing: failed)
        } else if let error, (error as NSError).code != NSURLErrorCancelled, !started.withLock({ $0 }) {
            // Before the stream began this is a connection failure; after, the server ending
            // its chunked body mid-way is just the end of the stream (the node stopped).
            continuation.finish(throwing: APIError.unreachable(url: baseURL, reason: APIClient.reason(error)))
        } else {
            continuation.finish()
        }
        session.finishTasksAndInvalidate()
    }

    private static func error(status: Int, _ body: Data) -> APIError? {
        do {
            _ = try APIClient.decode(status: status, body)
            return nil
        } catch {
            return error
        }
    }
}
