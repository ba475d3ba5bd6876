import CNATS
import Foundation
import Synchronization
import Transport

/// A connection to NATS through libnats: the project's `Transport` over the network.
///
/// Publishing never blocks on the network (libnats buffers; while disconnected, up to the
/// reconnect buffer). Subscriptions deliver from libnats threads into async streams. Requests
/// share one inbox subscription. `close()` (or releasing the connection) ends every stream.
public final class NATSConnection: Transport {
    /// The options this connection was made with.
    public let options: NATSOptions
    let nc: CHandle
    private let events: ConnectionEvents
    private let mux: RequestMux
    private let muxSubscription: CHandle
    private let inboxPrefix: String
    private let inboxCounter = Atomic<UInt64>(0)
    private let streamDrops = Atomic<UInt64>(0)

    /// Connects, blocking the calling thread up to the connect timeout per server. From async code
    /// prefer `connect(_:)`, which blocks no cooperative thread.
    public init(options: NATSOptions) throws {
        self.options = options
        let events = ConnectionEvents(initial: .disconnected, reconnect: options.reconnect)
        let context = Unmanaged.passRetained(events).toOpaque()
        let opts: OpaquePointer
        do {
            opts = try options.makeHandle(events: context)
        } catch {
            Unmanaged<ConnectionEvents>.fromOpaque(context).release()
            throw error
        }
        defer { natsOptions_Destroy(opts) }
        var raw: OpaquePointer?
        let s = natsConnection_Connect(&raw, opts)
        guard (s == NATS_OK || s == NATS_NOT_YET_CONNECTED), let conn = raw else {
            // No connection was made, so libnats will never call the closed callback.
            let error = natsFailure(s, "connect to \(options.servers.joined(separator: ","))")
            Unmanaged<ConnectionEvents>.fromOpaque(context).release()
            throw error
        }
        if s == NATS_OK { events.set(.connected) }
        self.events = events
        self.nc = CHandle(raw: conn)

        var inbox: UnsafeMutablePointer<CChar>?
        let made = natsInbox_Create(&inbox)
        let base = inbox.map { String(cString: $0) } ?? "_INBOX.\(UInt64.random(in: 0...UInt64.max))"
        if made == NATS_OK { natsInbox_Destroy(inbox) }
        inboxPrefix = base
        let mux = RequestMux(prefix: base + ".r.")
        self.mux = mux
        do {
            muxSubscription = try Self.subscribeRaw(conn, subject: mux.prefix + "*", queue: nil,
                                                    callback: natsReplyCallback,
                                                    complete: natsReplyCompleteCallback,
                                                    context: Unmanaged.passRetained(mux).toOpaque())
        } catch {
            natsConnection_Destroy(conn)
            throw error
        }
    }

    /// Connects without blocking a cooperative thread.
    public static func connect(_ options: NATSOptions) async throws -> NATSConnection {
        try await Blocking.run { try NATSConnection(options: options) }
    }

    deinit {
        natsSubscription_Destroy(muxSubscription.raw)
        natsConnection_Destroy(nc.raw)
    }

    // MARK: State

    /// The connection's state now.
    public var state: TransportState { events.current }

    /// The current state, then every change; ends after `closed`.
    public func stateUpdates() -> AsyncStream<TransportState> { events.updates() }

    /// Times the connection was re-established after a disconnection.
    public var reconnectCount: UInt64 { events.reconnects.load(ordering: .relaxed) }

    /// Slow-consumer errors libnats reported (a subscription's pending limit was reached).
    public var slowConsumerErrors: UInt64 { events.slowConsumerErrors.load(ordering: .relaxed) }

    /// The URL of the server currently connected to, if any.
    public var connectedURL: String? {
        var buffer = [CChar](repeating: 0, count: 512)
        guard natsConnection_GetConnectedUrl(nc.raw, &buffer, buffer.count) == NATS_OK else { return nil }
        let url = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return url.isEmpty ? nil : url
    }

    /// The server's payload limit (`max_payload`), known once connected.
    public var maxPayload: Int { Int(natsConnection_GetMaxPayload(nc.raw)) }

    /// Closes the connection: pending publishes are flushed if possible, every subscription's
    /// stream ends, waiting requests fail with `closed`. Idempotent.
    public func close() {
        natsConnection_Close(nc.raw)
    }

    // MARK: Transport

    public func publish(_ subject: String, payload: Data, replyTo: String?) throws {
        guard Subject.isValidPublish(subject) else { throw TransportError.invalidSubject(subject) }
        if let replyTo, !Subject.isValidPublish(replyTo) { throw TransportError.invalidSubject(replyTo) }
        let s = payload.withUnsafeBytes { bytes in
            if let replyTo {
                return natsConnection_PublishRequest(nc.raw, subject, replyTo, bytes.baseAddress, Int32(bytes.count))
            }
            return natsConnection_Publish(nc.raw, subject, bytes.baseAddress, Int32(bytes.count))
        }
        if s != NATS_OK {
            throw transportError(s, subject: subject, maxPayload: maxPayload, size: payload.count)
        }
    }

    public func subscribe(_ subject: String, queue: String?) throws -> TransportSubscription {
        try subscribe(subject, queue: queue, pendingLimits: nil).asTransportSubscription()
    }

    /// Subscribes with explicit pending limits (default: the connection's `pendingLimits`).
    /// The limit applies twice, to libnats's queue and to the stream's buffer; a message past
    /// either is dropped and counted in `stats.dropped`.
    public func subscribe(_ subject: String, queue: String? = nil,
                          pendingLimits: NATSOptions.PendingLimits?) throws -> NATSSubscription {
        guard Subject.isValidFilter(subject) else { throw TransportError.invalidSubject(subject) }
        if let queue, queue.isEmpty || queue.contains(where: \.isWhitespace) {
            throw TransportError.invalidSubject(queue)
        }
        let limits = pendingLimits ?? options.pendingLimits
        let (stream, continuation) = AsyncStream<TransportMessage>.makeStream(
            bufferingPolicy: .bufferingOldest(max(1, limits.messages)))
        let sink = SubscriptionSink(continuation: continuation)
        let handle: CHandle
        do {
            handle = try Self.subscribeRaw(nc.raw, subject: subject, queue: queue,
                                           callback: natsMessageCallback,
                                           complete: natsSubscriptionCompleteCallback,
                                           context: Unmanaged.passRetained(sink).toOpaque())
        } catch {
            continuation.finish()
            if case .status(_, let code, _) = error { throw transportError(natsStatus(code), subject: subject) }
            throw TransportError.failure(error.description)
        }
        _ = natsSubscription_SetPendingLimits(handle.raw, Int32(clamping: limits.messages), Int32(clamping: limits.bytes))
        return NATSSubscription(subject: subject, queue: queue, messages: stream, sink: sink, handle: handle)
    }

    /// Creates an async subscription whose `context` (retained once) is released by `complete`.
    private static func subscribeRaw(
        _ conn: OpaquePointer, subject: String, queue: String?,
        callback: natsMsgHandler, complete: natsOnCompleteCB,
        context: UnsafeMutableRawPointer
    ) throws(NATSError) -> CHandle {
        var raw: OpaquePointer?
        let s: natsStatus
        if let queue {
            s = natsConnection_QueueSubscribe(&raw, conn, subject, queue, callback, context)
        } else {
            s = natsConnection_Subscribe(&raw, conn, subject, callback, context)
        }
        guard s == NATS_OK, let sub = raw else {
            // No subscription exists, so no callback can run: release the context here.
            Unmanaged<AnyObject>.fromOpaque(context).release()
            throw natsFailure(s, "subscribe to '\(subject)'")
        }
        if natsSubscription_SetOnCompleteCB(sub, complete, context) != NATS_OK {
            // The subscription was closed underneath us (the connection closed concurrently) and a
            // message callback may still be running: run the completion now would race it, so the
            // context is deliberately leaked (one small object, only in this race).
            natsSubscription_Destroy(sub)
            throw NATSError.status(operation: "subscribe to '\(subject)'", code: NATS_CONNECTION_CLOSED.rawValue,
                                   text: "connection closed while subscribing")
        }
        return CHandle(raw: sub)
    }

    public func request(_ subject: String, payload: Data, timeout: Duration) async throws -> TransportMessage {
        guard Subject.isValidPublish(subject) else { throw TransportError.invalidSubject(subject) }
        let token = mux.nextToken()
        let reply = mux.prefix + String(token)
        let mux = self.mux
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: RequestMux.Waiter) in
                guard mux.register(token, subject: subject, waiter) else {
                    waiter.resume(throwing: TransportError.closed)
                    return
                }
                do {
                    try publish(subject, payload: payload, replyTo: reply)
                } catch {
                    mux.take(token)?.waiter.resume(throwing: error)
                    return
                }
                let ns = max(0, timeout.nanoseconds)
                DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: ns))) {
                    mux.take(token)?.waiter.resume(throwing: TransportError.timeout(subject: subject))
                }
            }
        } onCancel: {
            mux.take(token)?.waiter.resume(throwing: CancellationError())
        }
    }

    public func flush(timeout: Duration) async throws {
        let handle = nc
        let s = try await Blocking.run { natsConnection_FlushTimeout(handle.raw, max(1, timeout.milliseconds)) }
        if s != NATS_OK { throw transportError(s, subject: "flush") }
    }

    public func newInbox() -> String {
        inboxPrefix + "." + String(inboxCounter.wrappingAdd(1, ordering: .relaxed).newValue)
    }
}
