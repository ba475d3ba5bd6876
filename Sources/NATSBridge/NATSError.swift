import CNATS
import Transport

/// A failure reported by libnats or by the JetStream server, with the library's own words.
public enum NATSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A libnats call failed: the operation, the status code, `natsStatus_GetText` and
    /// `nats_GetLastError` (the detail the library left for this thread).
    case status(operation: String, code: UInt32, text: String)
    /// The JetStream server refused a request with an API error code (`jsErrCode`).
    case jetStream(operation: String, code: Int32, text: String)
    /// A compare-and-swap update found another revision than the one expected.
    case revisionMismatch(key: String, expected: UInt64, text: String)
    /// A stream, consumer, bucket or key does not exist.
    case notFound(String)
    /// An argument was rejected before reaching the library (names the argument).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .status(let op, let code, let text): return "\(op) failed (status \(code)): \(text)"
        case .jetStream(let op, let code, let text): return "\(op) failed (JetStream error \(code)): \(text)"
        case .revisionMismatch(let key, let expected, let text):
            return "update of key '\(key)' expected revision \(expected): \(text)"
        case .notFound(let what): return "\(what) not found"
        case .invalidArgument(let what): return "invalid argument: \(what)"
        }
    }
}

/// The text libnats gives for a status plus the thread's last-error detail, if any.
/// Call on the thread that made the failing call: the detail is thread-local.
func statusText(_ s: natsStatus) -> String {
    let base = natsStatus_GetText(s).map { String(cString: $0) } ?? "status \(s.rawValue)"
    var last = NATS_OK
    guard let detail = nats_GetLastError(&last).map({ String(cString: $0) }),
          !detail.isEmpty, detail != base else { return base }
    return base + ": " + detail
}

/// Builds the typed error for a failed libnats call.
func natsFailure(_ s: natsStatus, _ operation: String, jsCode: jsErrCode = jsErrCode(rawValue: 0)) -> NATSError {
    if jsCode.rawValue != 0 {
        return .jetStream(operation: operation, code: Int32(jsCode.rawValue), text: statusText(s))
    }
    if s == NATS_NOT_FOUND { return .notFound(operation) }
    return .status(operation: operation, code: s.rawValue, text: statusText(s))
}

/// Throws the typed error unless `s` is `NATS_OK`.
func check(_ s: natsStatus, _ operation: String, jsCode: jsErrCode = jsErrCode(rawValue: 0)) throws(NATSError) {
    if s != NATS_OK { throw natsFailure(s, operation, jsCode: jsCode) }
}

/// Maps a libnats status to the transport's shared error vocabulary.
func transportError(_ s: natsStatus, subject: String, maxPayload: Int = 0, size: Int = 0) -> TransportError {
    switch s {
    case NATS_CONNECTION_CLOSED: return .closed
    case NATS_TIMEOUT: return .timeout(subject: subject)
    case NATS_NO_RESPONDERS: return .noResponders(subject: subject)
    case NATS_INVALID_SUBJECT: return .invalidSubject(subject)
    case NATS_MAX_PAYLOAD: return .payloadTooLarge(size: size, limit: maxPayload)
    case NATS_CONNECTION_DISCONNECTED, NATS_INSUFFICIENT_BUFFER, NATS_NOT_YET_CONNECTED: return .disconnected
    default: return .failure("NATS on '\(subject)': " + statusText(s))
    }
}
