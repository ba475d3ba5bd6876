import Foundation
import Synchronization

/// Moves chunks from an `AsyncStream` (async world) to MHD's content-reader callback (the polling
/// thread, which must never block). When the reader finds nothing to send it suspends the
/// connection and returns 0; a chunk, the end of the stream, a heartbeat or a cancellation resumes
/// it. The suspended flag and the resume live under one lock, so each suspension is resumed exactly
/// once, and `cancel()` (which `stop()` calls on every open stream) leaves nothing suspended.
final class StreamPump: Sendable {
    private let state = Mutex<State>(State())
    private let heartbeat: Data?
    private let heartbeatInterval: Duration

    private struct State {
        /// Bytes not yet handed to MHD: `pending[sent...]`.
        var pending = Data()
        var sent = 0
        var finished = false
        var cancelled = false
        var connection: SuspendedConnection?
        var suspended = false
        var lastActivity = ContinuousClock.now
        var tasks: [Task<Void, Never>] = []

        /// Resumes the connection if the reader parked it; call with the lock held.
        mutating func wake() {
            guard suspended, let connection else { return }
            suspended = false
            connection.resume()
        }
    }

    init(stream: AsyncStream<Data>, heartbeat: Data?, heartbeatInterval: Duration) {
        self.heartbeat = heartbeat
        self.heartbeatInterval = max(.milliseconds(10), heartbeatInterval)
        let producer = Task { [weak self] in
            for await chunk in stream {
                guard let self else { return }
                self.push(chunk)
            }
            self?.finish()
        }
        var tasks = [producer]
        if heartbeat != nil {
            tasks.append(Task { [weak self] in
                while !Task.isCancelled {
                    guard let delay = self?.heartbeatTick() else { return }
                    try? await Task.sleep(for: delay)
                }
            })
        }
        let cancelled = state.withLock { s -> Bool in
            s.tasks = tasks
            return s.cancelled
        }
        if cancelled { for t in tasks { t.cancel() } }
    }

    /// The connection the reader suspends; set before the response is queued.
    func attach(_ connection: SuspendedConnection) {
        state.withLock { $0.connection = connection }
    }

    /// Bytes buffered for a client before it counts as stalled and its stream is ended: the
    /// producer task drains its source eagerly, so without a bound a client that stops reading
    /// an event stream would grow this buffer until the node runs out of memory.
    static let maxPendingBytes = 8 << 20

    private func push(_ chunk: Data) {
        let stopped = state.withLock { s -> [Task<Void, Never>] in
            if s.cancelled { return [] }
            if s.pending.count - s.sent + chunk.count > Self.maxPendingBytes {
                s.cancelled = true
                s.wake()
                let t = s.tasks
                s.tasks = []
                return t
            }
            s.pending.append(chunk)
            s.lastActivity = .now
            s.wake()
            return []
        }
        for t in stopped { t.cancel() }
    }

    private func finish() { end { $0.finished = true } }

    /// Marks the stream over, wakes a parked reader and cancels the producer and heartbeat tasks.
    private func end(_ mark: (inout State) -> Void) {
        let tasks = state.withLock { s -> [Task<Void, Never>] in
            mark(&s)
            s.wake()
            let t = s.tasks
            s.tasks = []
            return t
        }
        for t in tasks { t.cancel() }
    }

    /// Writes the heartbeat when the stream has been silent for the interval; returns how long to
    /// sleep until the next check, or nil once the stream is over.
    private func heartbeatTick() -> Duration? {
        state.withLock { s -> Duration? in
            if s.finished || s.cancelled { return nil }
            let now = ContinuousClock.now
            let due = s.lastActivity + heartbeatInterval
            if now < due { return due - now }
            if s.pending.count == s.sent, let heartbeat {
                s.pending.append(heartbeat)
                s.wake()
            }
            s.lastActivity = now
            return heartbeatInterval
        }
    }

    /// Stops the producer and resumes a parked reader so it can end the response: called when MHD
    /// frees the response (client gone), when the server stops, or when the stream overflows.
    func cancel() { end { $0.cancelled = true } }

    /// Whether the producer has ended (finished or cancelled); nothing more will be pushed.
    var producerEnded: Bool {
        state.withLock { $0.finished || $0.cancelled }
    }

    /// Fills `buffer` with up to `max` bytes; returns the count, -1 at end of stream, -2 when
    /// cancelled, or 0 after suspending the connection because nothing is buffered yet.
    /// Only MHD's content reader (or a test, with no connection attached) calls this.
    func read(into buffer: UnsafeMutableRawPointer, max: Int) -> Int {
        state.withLock { s -> Int in
            if s.cancelled { return -2 }
            let available = s.pending.count - s.sent
            if available == 0 {
                if s.finished { return -1 }
                if let connection = s.connection, !s.suspended {
                    s.suspended = true
                    connection.suspend()
                }
                return 0
            }
            let n = Swift.min(max, available)
            let from = s.sent
            s.pending.withUnsafeBytes { raw in
                if let base = raw.baseAddress { buffer.copyMemory(from: base + from, byteCount: n) }
            }
            s.sent += n
            if s.sent == s.pending.count {
                s.pending.removeAll(keepingCapacity: true)
                s.sent = 0
            } else if s.sent >= 1 << 16 && s.sent * 2 >= s.pending.count {
                // A slow reader: drop what was sent so the buffer holds only what is owed.
                s.pending = Data(s.pending.dropFirst(s.sent))
                s.sent = 0
            }
            return n
        }
    }
}
