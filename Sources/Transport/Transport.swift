import Foundation

/// One message as it crosses a transport: a subject, an opaque payload, and an optional reply subject.
public struct TransportMessage: Sendable, Hashable {
    /// The subject the message was published on (never a wildcard).
    public var subject: String
    /// The message body. Protocols put a versioned, size-bounded encoding here.
    public var payload: Data
    /// Where a responder should publish its answer, for request/reply.
    public var replyTo: String?

    public init(subject: String, payload: Data, replyTo: String? = nil) {
        self.subject = subject
        self.payload = payload
        self.replyTo = replyTo
    }
}

/// Errors every transport reports the same way, so callers never see a library-specific error.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A request found no subscriber for its subject.
    case noResponders(subject: String)
    /// A request got no reply in time.
    case timeout(subject: String)
    /// A subject is empty, has an empty token, or uses a wildcard where none is allowed.
    case invalidSubject(String)
    /// The payload is larger than the transport accepts.
    case payloadTooLarge(size: Int, limit: Int)
    /// The transport is closed; nothing more can be sent or received.
    case closed
    /// The connection is down (it may come back; a publish may be buffered or fail).
    case disconnected
    /// A failure reported by the underlying library, with its own text.
    case failure(String)

    public var description: String {
        switch self {
        case .noResponders(let s): return "no responders for subject '\(s)'"
        case .timeout(let s): return "request on '\(s)' timed out"
        case .invalidSubject(let s): return "invalid subject '\(s)'"
        case .payloadTooLarge(let size, let limit): return "payload of \(size) bytes exceeds the limit of \(limit)"
        case .closed: return "transport closed"
        case .disconnected: return "transport disconnected"
        case .failure(let m): return m
        }
    }
}

/// The connection state a transport reports to its owner.
public enum TransportState: String, Sendable, Codable {
    case connected, disconnected, reconnected, closed
}

/// A live subscription: an async stream of messages, ended by `unsubscribe()` or by the transport closing.
public final class TransportSubscription: Sendable {
    /// The subject (possibly with wildcards) this subscription listens on.
    public let subject: String
    /// The queue group, if any: each message goes to one member of the group.
    public let queue: String?
    /// Delivered messages, in arrival order.
    public let messages: AsyncStream<TransportMessage>
    private let cancel: @Sendable () -> Void

    /// Builds a subscription; transports call this, users do not.
    public init(subject: String, queue: String?, messages: AsyncStream<TransportMessage>,
                cancel: @escaping @Sendable () -> Void) {
        self.subject = subject
        self.queue = queue
        self.messages = messages
        self.cancel = cancel
    }

    /// Stops delivery and ends `messages`. Idempotent.
    public func unsubscribe() { cancel() }

    deinit { cancel() }
}

/// The one transport abstraction of the project. Two implementations: NATS (`NATSBridge`) and
/// in-process (`InProcessTransport`, used by the embedded node and the simulator's shells).
/// Subjects follow NATS rules: dot-separated tokens, `*` matches one token, `>` the rest.
public protocol Transport: Sendable {
    /// Publishes a message; returns once the transport has taken it (not when it is delivered).
    func publish(_ subject: String, payload: Data, replyTo: String?) throws
    /// Subscribes to a subject (wildcards allowed). With `queue`, each message goes to one member.
    func subscribe(_ subject: String, queue: String?) throws -> TransportSubscription
    /// Sends a request and waits for the first reply, or throws `noResponders` / `timeout`.
    func request(_ subject: String, payload: Data, timeout: Duration) async throws -> TransportMessage
    /// Waits until everything published so far has been handed to the server (a no-op in process).
    func flush(timeout: Duration) async throws
    /// A fresh, unique subject to receive replies on.
    func newInbox() -> String
}

extension Transport {
    /// Publishes without a reply subject.
    public func publish(_ subject: String, payload: Data) throws {
        try publish(subject, payload: payload, replyTo: nil)
    }

    /// Subscribes without a queue group.
    public func subscribe(_ subject: String) throws -> TransportSubscription {
        try subscribe(subject, queue: nil)
    }

    /// Answers a request: publishes `payload` to the request's reply subject, if it has one.
    public func respond(to request: TransportMessage, payload: Data) throws {
        guard let reply = request.replyTo else { return }
        try publish(reply, payload: payload, replyTo: nil)
    }
}
