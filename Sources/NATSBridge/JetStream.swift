import CNATS
import Foundation
import Transport

/// JetStream on one connection: streams, publish with acknowledgement, pull consumers and KV
/// buckets. Every call is a request to the server; they run off the cooperative thread pool.
public final class JetStream: Sendable {
    /// The connection this context uses (kept alive by it).
    public let connection: NATSConnection
    let js: CHandle

    /// Creates the JetStream context. `timeout` bounds each JetStream API request.
    public init(_ connection: NATSConnection, timeout: Duration = .seconds(5), domain: String? = nil) throws {
        self.connection = connection
        var opts = jsOptions()
        try check(jsOptions_Init(&opts), "jsOptions_Init")
        opts.Wait = max(1, timeout.milliseconds)
        let strings = CStrings()
        opts.Domain = strings.add(domain)
        var raw: OpaquePointer?
        try check(natsConnection_JetStream(&raw, connection.nc.raw, &opts), "natsConnection_JetStream")
        guard let ctx = raw else { throw NATSError.invalidArgument("natsConnection_JetStream returned nothing") }
        js = CHandle(raw: ctx)
        withExtendedLifetime(strings) {}
    }

    deinit { jsCtx_Destroy(js.raw) }

    // MARK: Streams

    /// Creates the stream, or updates it if a stream of that name exists.
    @discardableResult
    public func createOrUpdateStream(_ config: StreamConfig) async throws -> StreamInfo {
        let js = self.js
        return try await Blocking.run {
            let strings = CStrings()
            var cfg = try config.cConfig(strings)
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var code = jsErrCode(rawValue: 0)
            var s = js_AddStream(&info, js.raw, &cfg, nil, &code)
            if s != NATS_OK && code == JSStreamNameExistErr {
                code = jsErrCode(rawValue: 0)
                s = js_UpdateStream(&info, js.raw, &cfg, nil, &code)
            }
            try check(s, "create stream '\(config.name)'", jsCode: code)
            defer { jsStreamInfo_Destroy(info) }
            return StreamInfo(info, name: config.name)
        }
    }

    /// The stream's current state.
    public func streamInfo(_ name: String) async throws -> StreamInfo {
        let js = self.js
        return try await Blocking.run {
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var code = jsErrCode(rawValue: 0)
            try check(js_GetStreamInfo(&info, js.raw, name, nil, &code), "stream info '\(name)'", jsCode: code)
            defer { jsStreamInfo_Destroy(info) }
            return StreamInfo(info, name: name)
        }
    }

    /// Deletes a stream and its messages.
    public func deleteStream(_ name: String) async throws {
        let js = self.js
        try await Blocking.run {
            var code = jsErrCode(rawValue: 0)
            try check(js_DeleteStream(js.raw, name, nil, &code), "delete stream '\(name)'", jsCode: code)
        }
    }

    // MARK: Publish

    /// Publishes and waits for the stream's acknowledgement; returns the stored sequence.
    public func publish(_ subject: String, payload: Data, options: PublishOptions = PublishOptions()) async throws -> PublishAck {
        guard Subject.isValidPublish(subject) else { throw TransportError.invalidSubject(subject) }
        let js = self.js
        return try await Blocking.run {
            let strings = CStrings()
            var po = jsPubOptions()
            try check(jsPubOptions_Init(&po), "jsPubOptions_Init")
            po.MsgId = strings.add(options.messageID)
            po.ExpectStream = strings.add(options.expectedStream)
            if let seq = options.expectedLastSequence { po.ExpectLastSeq = seq }
            if let seq = options.expectedLastSubjectSequence { po.ExpectLastSubjectSeq = seq }
            if let t = options.timeout { po.MaxWait = max(1, t.milliseconds) }
            var ack: UnsafeMutablePointer<jsPubAck>?
            var code = jsErrCode(rawValue: 0)
            let s = payload.withUnsafeBytes {
                js_Publish(&ack, js.raw, subject, $0.baseAddress, Int32($0.count), &po, &code)
            }
            try check(s, "publish to '\(subject)'", jsCode: code)
            defer { jsPubAck_Destroy(ack) }
            guard let a = ack?.pointee else { throw NATSError.invalidArgument("publish to '\(subject)': no ack") }
            return PublishAck(stream: a.Stream.map { String(cString: $0) } ?? "",
                              sequence: a.Sequence, duplicate: a.Duplicate)
        }
    }

    // MARK: Consumers

    /// Creates (or reuses) a durable pull consumer on `stream` and binds to it. The consumer
    /// outlives this process; `deleteConsumer` removes it.
    public func pullConsumer(stream: String, config: ConsumerConfig) async throws -> PullConsumer {
        let js = self.js
        let handle = try await Blocking.run {
            let strings = CStrings()
            var cc = jsConsumerConfig()
            try check(jsConsumerConfig_Init(&cc), "jsConsumerConfig_Init")
            config.fill(&cc, strings)
            var info: UnsafeMutablePointer<jsConsumerInfo>?
            var code = jsErrCode(rawValue: 0)
            try check(js_AddConsumer(&info, js.raw, stream, &cc, nil, &code),
                      "create consumer '\(config.durable)' on '\(stream)'", jsCode: code)
            jsConsumerInfo_Destroy(info)

            var so = jsSubOptions()
            try check(jsSubOptions_Init(&so), "jsSubOptions_Init")
            so.Stream = strings.add(stream)
            so.Consumer = strings.add(config.durable)
            var sub: OpaquePointer?
            code = jsErrCode(rawValue: 0)
            try check(js_PullSubscribe(&sub, js.raw, strings.add(config.filterSubject), strings.add(config.durable),
                                       nil, &so, &code),
                      "bind pull consumer '\(config.durable)' on '\(stream)'", jsCode: code)
            guard let sub else { throw NATSError.invalidArgument("js_PullSubscribe returned nothing") }
            return CHandle(raw: sub)
        }
        return PullConsumer(jetStream: self, stream: stream, durable: config.durable, handle: handle)
    }

    /// Deletes a consumer.
    public func deleteConsumer(stream: String, durable: String) async throws {
        let js = self.js
        try await Blocking.run {
            var code = jsErrCode(rawValue: 0)
            try check(js_DeleteConsumer(js.raw, stream, durable, nil, &code),
                      "delete consumer '\(durable)' on '\(stream)'", jsCode: code)
        }
    }
}
