import Foundation

/// Moves chunks from an `AsyncStream` (async world) to MHD's content-reader callback (a blocking
/// connection thread). The reader blocks on a condition; in thread-per-connection mode that is allowed.
final class StreamPump: @unchecked Sendable {
    // All mutable state is guarded by `condition`.
    private let condition = NSCondition()
    private var pending = Data()
    private var finished = false
    private var cancelled = false
    private var task: Task<Void, Never>?
    private let heartbeat: Data?
    private let heartbeatInterval: TimeInterval

    init(stream: AsyncStream<Data>, heartbeat: Data?, heartbeatInterval: Duration) {
        self.heartbeat = heartbeat
        let c = heartbeatInterval.components
        self.heartbeatInterval = max(0.01, Double(c.seconds) + Double(c.attoseconds) / 1e18)
        let task = Task { [weak self] in
            for await chunk in stream {
                guard let self else { return }
                self.push(chunk)
            }
            self?.finish()
        }
        condition.lock()
        self.task = task
        condition.unlock()
    }

    /// Bytes buffered for a client before it counts as stalled and its stream is ended: the
    /// producer task drains its source eagerly, so without a bound a client that stops reading
    /// an event stream would grow this buffer until the node runs out of memory.
    static let maxPendingBytes = 8 << 20

    private func push(_ chunk: Data) {
        condition.lock()
        let overflow = pending.count + chunk.count > Self.maxPendingBytes
        if overflow {
            cancelled = true
        } else {
            pending.append(chunk)
        }
        let t = overflow ? task : nil
        if overflow { task = nil }
        condition.broadcast()
        condition.unlock()
        t?.cancel()
    }

    private func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the producer: called when MHD frees the response (client gone or server stopping).
    func cancel() {
        condition.lock()
        cancelled = true
        let t = task
        task = nil
        condition.broadcast()
        condition.unlock()
        t?.cancel()
    }

    /// Whether the producer has ended (finished or cancelled); nothing more will be pushed.
    var producerEnded: Bool {
        condition.lock()
        defer { condition.unlock() }
        return finished || cancelled
    }

    /// Fills `buffer` with up to `max` bytes; returns the count, or -1 at end of stream, -2 when cancelled.
    func read(into buffer: UnsafeMutableRawPointer, max: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        while pending.isEmpty && !finished && !cancelled {
            let deadline = Date(timeIntervalSinceNow: heartbeatInterval)
            if !condition.wait(until: deadline), pending.isEmpty, !finished, !cancelled, let heartbeat {
                pending.append(heartbeat)
            }
        }
        if cancelled { return -2 }
        if pending.isEmpty { return -1 }
        let n = Swift.min(max, pending.count)
        pending.withUnsafeBytes { raw in
            if let base = raw.baseAddress { buffer.copyMemory(from: base, byteCount: n) }
        }
        pending.removeFirst(n)
        return n
    }
}
