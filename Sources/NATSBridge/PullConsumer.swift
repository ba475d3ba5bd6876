import CNATS
import Foundation
import Synchronization
import Transport

/// A bound durable pull consumer: fetch batches, acknowledge each message.
public final class PullConsumer: Sendable {
    /// The stream and durable name.
    public let stream: String
    public let durable: String
    private let jetStream: JetStream
    private let handle: Mutex<CHandle?>

    init(jetStream: JetStream, stream: String, durable: String, handle: CHandle) {
        self.jetStream = jetStream
        self.stream = stream
        self.durable = durable
        self.handle = Mutex(handle)
    }

    /// Up to `batch` messages, waiting at most `timeout` for them; empty if none came.
    public func fetch(batch: Int, timeout: Duration) async throws -> [JetStreamMessage] {
        guard batch > 0 else { throw NATSError.invalidArgument("fetch batch must be positive, got \(batch)") }
        guard let sub = handle.withLock({ $0 }) else { throw TransportError.closed }
        let raw = try await Blocking.run { () -> [CHandle] in
            // Keeps the subscription from being destroyed by a concurrent close() mid-fetch.
            withExtendedLifetime(self) {}
            var list = natsMsgList()
            var code = jsErrCode(rawValue: 0)
            let s = natsSubscription_Fetch(&list, sub.raw, Int32(batch), max(1, timeout.milliseconds), &code)
            if s == NATS_TIMEOUT { return [] }
            try check(s, "fetch from '\(self.durable)' on '\(self.stream)'", jsCode: code)
            var out: [CHandle] = []
            for i in 0..<Int(list.Count) {
                if let m = list.Msgs[i] {
                    out.append(CHandle(raw: m))
                    list.Msgs[i] = nil  // ownership moves to JetStreamMessage
                }
            }
            natsMsgList_Destroy(&list)
            return out
        }
        return raw.map { JetStreamMessage($0) }
    }

    /// Stops fetching; the durable consumer stays on the server. Idempotent.
    public func close() {
        guard let h = handle.withLock({ h -> CHandle? in
            defer { h = nil }
            return h
        }) else { return }
        natsSubscription_Destroy(h.raw)
    }

    deinit { close() }
}

/// A message fetched from JetStream; acknowledge it, or it is redelivered after the ack wait.
public final class JetStreamMessage: Sendable {
    /// The subject it was published on.
    public let subject: String
    /// Its body.
    public let payload: Data
    /// Its sequence in the stream.
    public let streamSequence: UInt64
    /// Its sequence in the consumer.
    public let consumerSequence: UInt64
    /// How many times it has been delivered (1 the first time).
    public let deliveries: UInt64
    private let handle: Mutex<CHandle?>

    init(_ h: CHandle) {
        let m = transportMessage(h.raw)
        subject = m.subject
        payload = m.payload
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        if natsMsg_GetMetaData(&meta, h.raw) == NATS_OK, let md = meta?.pointee {
            streamSequence = md.Sequence.Stream
            consumerSequence = md.Sequence.Consumer
            deliveries = md.NumDelivered
        } else {
            streamSequence = 0
            consumerSequence = 0
            deliveries = 0
        }
        jsMsgMetaData_Destroy(meta)
        handle = Mutex(h)
    }

    /// Acknowledges and waits for the server to confirm it.
    public func ack() async throws { try await settle("ack") { natsMsg_AckSync($0, nil, nil) } }
    /// Asks for redelivery now.
    public func nak() async throws { try await settle("nak") { natsMsg_Nak($0, nil) } }
    /// Never deliver it again.
    public func term() async throws { try await settle("term") { natsMsg_Term($0, nil) } }

    private func settle(_ what: String, _ call: @escaping @Sendable (OpaquePointer) -> natsStatus) async throws {
        guard let h = handle.withLock({ h -> CHandle? in
            defer { h = nil }
            return h
        }) else { throw NATSError.invalidArgument("\(what): message \(streamSequence) already settled") }
        try await Blocking.run {
            defer { natsMsg_Destroy(h.raw) }
            try check(call(h.raw), "\(what) of message \(self.streamSequence) on '\(self.subject)'")
        }
    }

    deinit {
        if let h = handle.withLock({ $0 }) { natsMsg_Destroy(h.raw) }
    }
}
