import CNATS
import Foundation

/// A stream's configuration (the subset the project uses; the rest keeps server defaults).
public struct StreamConfig: Sendable {
    /// Where messages are stored.
    public enum Storage: Sendable { case file, memory }
    /// When messages are removed.
    public enum Retention: Sendable { case limits, interest, workQueue }

    public var name: String
    public var subjects: [String]
    public var storage: Storage = .file
    public var retention: Retention = .limits
    /// Copies kept in a cluster (1, 3 or 5).
    public var replicas = 1
    /// Limits; nil means unlimited.
    public var maxMessages: Int64?
    public var maxBytes: Int64?
    public var maxAge: Duration?
    public var maxMessagesPerSubject: Int64?
    public var maxMessageSize: Int32?
    /// Window in which a repeated `messageID` is dropped as a duplicate (server default 2 min).
    public var duplicateWindow: Duration?
    /// Refuse new messages at a limit instead of dropping old ones.
    public var discardNew = false

    public init(name: String, subjects: [String]) {
        self.name = name
        self.subjects = subjects
    }

    func cConfig(_ strings: CStrings) throws -> jsStreamConfig {
        var c = jsStreamConfig()
        try check(jsStreamConfig_Init(&c), "jsStreamConfig_Init")
        c.Name = strings.add(name)
        c.Subjects = strings.array(subjects)
        c.SubjectsLen = Int32(subjects.count)
        c.Storage = storage == .file ? js_FileStorage : js_MemoryStorage
        switch retention {
        case .limits: c.Retention = js_LimitsPolicy
        case .interest: c.Retention = js_InterestPolicy
        case .workQueue: c.Retention = js_WorkQueuePolicy
        }
        c.Replicas = Int64(replicas)
        if let v = maxMessages { c.MaxMsgs = v }
        if let v = maxBytes { c.MaxBytes = v }
        if let v = maxAge { c.MaxAge = v.nanoseconds }
        if let v = maxMessagesPerSubject { c.MaxMsgsPerSubject = v }
        if let v = maxMessageSize { c.MaxMsgSize = v }
        if let v = duplicateWindow { c.Duplicates = v.nanoseconds }
        c.Discard = discardNew ? js_DiscardNew : js_DiscardOld
        return c
    }
}

/// A stream's state as the server reported it.
public struct StreamInfo: Sendable, Equatable {
    public var name: String
    public var messages: UInt64
    public var bytes: UInt64
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    public var consumers: Int64

    init(_ info: UnsafeMutablePointer<jsStreamInfo>?, name: String) {
        let state = info?.pointee.State
        self.name = name
        messages = state?.Msgs ?? 0
        bytes = state?.Bytes ?? 0
        firstSequence = state?.FirstSeq ?? 0
        lastSequence = state?.LastSeq ?? 0
        consumers = state?.Consumers ?? 0
    }
}

/// Options of one JetStream publish.
public struct PublishOptions: Sendable {
    /// De-duplication id: a repeat within the stream's duplicate window is not stored twice.
    public var messageID: String?
    /// Fail unless the subject is stored by this stream.
    public var expectedStream: String?
    /// Fail unless the stream's last sequence is this (optimistic concurrency on the stream).
    public var expectedLastSequence: UInt64?
    /// Fail unless the subject's last sequence is this (optimistic concurrency per subject).
    public var expectedLastSubjectSequence: UInt64?
    /// How long to wait for the acknowledgement (default: the context's timeout).
    public var timeout: Duration?

    public init(messageID: String? = nil, expectedStream: String? = nil, expectedLastSequence: UInt64? = nil,
                expectedLastSubjectSequence: UInt64? = nil, timeout: Duration? = nil) {
        self.messageID = messageID
        self.expectedStream = expectedStream
        self.expectedLastSequence = expectedLastSequence
        self.expectedLastSubjectSequence = expectedLastSubjectSequence
        self.timeout = timeout
    }
}

/// The stream's acknowledgement of a publish.
public struct PublishAck: Sendable, Equatable {
    /// The stream that stored the message.
    public var stream: String
    /// Its sequence in the stream.
    public var sequence: UInt64
    /// True when the message id was seen before and the message was not stored again.
    public var duplicate: Bool
}

/// A durable pull consumer's configuration.
public struct ConsumerConfig: Sendable {
    /// Where a new consumer starts.
    public enum DeliverPolicy: Sendable { case all, new, last }

    /// The durable name (no dots).
    public var durable: String
    /// Only messages on this subject (may hold wildcards).
    public var filterSubject: String?
    public var deliverPolicy: DeliverPolicy = .all
    /// A message not acknowledged in this time is delivered again.
    public var ackWait: Duration = .seconds(30)
    /// Deliveries before the server gives up on a message; nil means unlimited.
    public var maxDeliver: Int64?
    /// Unacknowledged messages allowed at once; nil means the server default.
    public var maxAckPending: Int64?

    public init(durable: String, filterSubject: String? = nil) {
        self.durable = durable
        self.filterSubject = filterSubject
    }

    func fill(_ c: inout jsConsumerConfig, _ strings: CStrings) {
        c.Durable = strings.add(durable)
        c.FilterSubject = strings.add(filterSubject)
        c.AckPolicy = js_AckExplicit
        switch deliverPolicy {
        case .all: c.DeliverPolicy = js_DeliverAll
        case .new: c.DeliverPolicy = js_DeliverNew
        case .last: c.DeliverPolicy = js_DeliverLast
        }
        c.AckWait = ackWait.nanoseconds
        if let v = maxDeliver { c.MaxDeliver = v }
        if let v = maxAckPending { c.MaxAckPending = v }
    }
}
