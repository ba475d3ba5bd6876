import CNATS
import Dispatch
import Synchronization
import Transport

/// One wildcard inbox subscription (`<inbox>.*`) that routes every reply to the request waiting
/// for it, so a request costs a publish and a table entry rather than a subscription. The
/// server's no-responders status (503) arrives on the same inbox and fails the request at once.
final class RequestMux: Sendable {
    typealias Waiter = CheckedContinuation<TransportMessage, any Error>

    private struct Table {
        var waiting: [UInt64: (subject: String, waiter: Waiter)] = [:]
        var closed = false
    }

    let prefix: String
    private let table = Mutex(Table())
    private let counter = Atomic<UInt64>(0)

    init(prefix: String) { self.prefix = prefix }

    func nextToken() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).newValue }

    /// Registers a waiter; false if the mux is closed (the caller then fails it).
    func register(_ token: UInt64, subject: String, _ waiter: Waiter) -> Bool {
        table.withLock { t in
            if t.closed { return false }
            t.waiting[token] = (subject, waiter)
            return true
        }
    }

    /// Removes and returns a waiter; whoever takes it resumes it, exactly once.
    func take(_ token: UInt64) -> (subject: String, waiter: Waiter)? {
        table.withLock { $0.waiting.removeValue(forKey: token) }
    }

    func deliver(_ msg: OpaquePointer) {
        guard let subj = natsMsg_GetSubject(msg).map({ String(cString: $0) }),
              subj.hasPrefix(prefix), let token = UInt64(subj.dropFirst(prefix.count)),
              let entry = take(token) else { return }
        if natsMsg_IsNoResponders(msg) {
            entry.waiter.resume(throwing: TransportError.noResponders(subject: entry.subject))
        } else {
            entry.waiter.resume(returning: transportMessage(msg))
        }
    }

    /// Fails every waiting request with `closed`; later registrations fail too.
    func close() {
        let all = table.withLock { t -> [Waiter] in
            t.closed = true
            defer { t.waiting.removeAll() }
            return t.waiting.values.map(\.waiter)
        }
        for w in all { w.resume(throwing: TransportError.closed) }
    }
}

func natsReplyCallback(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ msg: OpaquePointer?,
                       _ closure: UnsafeMutableRawPointer?) {
    guard let msg else { return }
    defer { natsMsg_Destroy(msg) }
    guard let closure else { return }
    Unmanaged<RequestMux>.fromOpaque(closure).takeUnretainedValue().deliver(msg)
}

func natsReplyCompleteCallback(_ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<RequestMux>.fromOpaque(closure).takeRetainedValue().close()
}
