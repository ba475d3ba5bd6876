import CNATS
import Foundation
import Synchronization
import Transport

/// The message callback's context: where messages go and what was lost. libnats holds one
/// retained reference until the subscription's completion callback, which runs after the last
/// message callback has returned.
final class SubscriptionSink: Sendable {
    let continuation: AsyncStream<TransportMessage>.Continuation
    /// Messages that arrived while the stream's buffer was full.
    let droppedInStream = Atomic<UInt64>(0)
    let delivered = Atomic<UInt64>(0)

    init(continuation: AsyncStream<TransportMessage>.Continuation) {
        self.continuation = continuation
    }
}

/// Copies a libnats message into a `TransportMessage`. Does not destroy it.
func transportMessage(_ msg: OpaquePointer) -> TransportMessage {
    let subject = natsMsg_GetSubject(msg).map { String(cString: $0) } ?? ""
    let reply = natsMsg_GetReply(msg).map { String(cString: $0) }
    let count = Int(natsMsg_GetDataLength(msg))
    let payload = count > 0 ? natsMsg_GetData(msg).map { Data(bytes: $0, count: count) } ?? Data() : Data()
    return TransportMessage(subject: subject, payload: payload, replyTo: reply)
}

func natsMessageCallback(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ msg: OpaquePointer?,
                         _ closure: UnsafeMutableRawPointer?) {
    guard let msg else { return }
    defer { natsMsg_Destroy(msg) }
    guard let closure else { return }
    let sink = Unmanaged<SubscriptionSink>.fromOpaque(closure).takeUnretainedValue()
    if case .dropped = sink.continuation.yield(transportMessage(msg)) {
        sink.droppedInStream.add(1, ordering: .relaxed)
    } else {
        sink.delivered.add(1, ordering: .relaxed)
    }
}

func natsSubscriptionCompleteCallback(_ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    let sink = Unmanaged<SubscriptionSink>.fromOpaque(closure).takeRetainedValue()
    sink.continuation.finish()
}

/// Counters of one subscription.
public struct SubscriptionStats: Sendable, Equatable {
    /// Messages handed to the stream.
    public var delivered: UInt64
    /// Messages lost because a pending limit was reached (libnats's queue or the stream's buffer).
    public var dropped: UInt64
    /// Messages waiting in libnats's queue right now.
    public var pending: Int
}

/// A NATS subscription: its messages as an async stream, its counters, and `unsubscribe()`.
/// Releasing it unsubscribes; closing the connection ends `messages`.
public final class NATSSubscription: Sendable {
    /// The subject filter.
    public let subject: String
    /// The queue group, if any.
    public let queue: String?
    /// Messages in arrival order; ends on unsubscribe or when the connection closes.
    public let messages: AsyncStream<TransportMessage>
    private let sink: SubscriptionSink
    private let handle: Mutex<CHandle?>

    init(subject: String, queue: String?, messages: AsyncStream<TransportMessage>,
         sink: SubscriptionSink, handle: CHandle) {
        self.subject = subject
        self.queue = queue
        self.messages = messages
        self.sink = sink
        self.handle = Mutex(handle)
    }

    /// Current counters.
    public var stats: SubscriptionStats {
        handle.withLock { h in
            var dropped: Int64 = 0
            var pending: Int32 = 0
            var bytes: Int32 = 0
            if let h {
                _ = natsSubscription_GetDropped(h.raw, &dropped)
                _ = natsSubscription_GetPending(h.raw, &pending, &bytes)
            }
            return SubscriptionStats(
                delivered: sink.delivered.load(ordering: .relaxed),
                dropped: UInt64(max(0, dropped)) + sink.droppedInStream.load(ordering: .relaxed),
                pending: Int(pending))
        }
    }

    /// Removes interest and releases the libnats subscription; `messages` ends once the last
    /// in-flight callback has returned. Idempotent.
    public func unsubscribe() {
        guard let h = handle.withLock({ h -> CHandle? in
            defer { h = nil }
            return h
        }) else { return }
        _ = natsSubscription_Unsubscribe(h.raw)
        natsSubscription_Destroy(h.raw)
    }

    /// The same subscription seen through the `Transport` abstraction.
    public func asTransportSubscription() -> TransportSubscription {
        TransportSubscription(subject: subject, queue: queue, messages: messages) { [self] in
            unsubscribe()
        }
    }

    deinit { unsubscribe() }
}
