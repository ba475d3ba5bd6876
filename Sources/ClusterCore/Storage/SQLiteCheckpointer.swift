import CSQLite
import Foundation
import Synchronization

/// Moves WAL frames into the database file on its own thread and connection, so that group-commit
/// batches do not pay for checkpoints.
///
/// SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold: it copies every
/// page in the WAL to the database and fsyncs both files while that batch's writers wait. Writes to
/// scattered keys put a page per key in the WAL, so a checkpoint comes every few dozen batches and
/// costs several milliseconds: about an eighth of the writers' time.
///
/// Here the writer connection has no automatic checkpoint (a WAL hook replaces it and reports the
/// WAL's size after each commit). Past `threshold` frames this thread runs a PASSIVE checkpoint,
/// which copies the bulk while batches go on committing. A checkpoint that ran concurrently with
/// commits leaves their frames behind, and SQLite starts the WAL over only once every frame is
/// copied; so the writer then copies that remainder itself, between two batches (`afterCommit`),
/// and the WAL file is reused instead of growing. If the WAL still reaches `limit` frames (this
/// thread is starved), the writer checkpoints inline, as SQLite would.
final class SQLiteCheckpointer: Sendable {
    /// WAL frames after which a background checkpoint starts (SQLite's default automatic one).
    static let defaultThreshold: Int32 = 1000

    let threshold: Int32
    let limit: Int32
    private let path: String
    /// Frames in the WAL after the writer's last commit, set by the WAL hook on the writer thread.
    private let walFrames: WALFrameCount
    private struct State {
        var requested = false
        var running = false
        var closed = false
    }
    /// A background checkpoint ended and the WAL has not started over since: the writer copies what
    /// was committed meanwhile. Written under `state`'s lock, read by the writer without it.
    private let remainder = Atomic<Bool>(false)
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    // Confined to the checkpointer thread from `start()` on.
    nonisolated(unsafe) private let connection: SQLiteConnection
    let background = Atomic<UInt64>(0)
    let onWriter = Atomic<UInt64>(0)
    let failures = Atomic<UInt64>(0)

    /// Installs the WAL hook on `writer` (disabling its automatic checkpoint) and opens this
    /// checkpointer's own connection to the same file.
    init(writer: SQLiteConnection, busyTimeout: Duration, threshold: Int32 = defaultThreshold) throws {
        self.path = writer.path
        self.threshold = max(1, threshold)
        self.limit = self.threshold * 8
        self.walFrames = WALFrameCount()
        self.connection = try SQLiteConnection(path: writer.path, busyTimeout: busyTimeout)
        try connection.executeScript("PRAGMA synchronous=FULL")
        sqlite3_wal_hook(writer.handle, { context, _, _, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<WALFrameCount>.fromOpaque(context).takeUnretainedValue().value.store(frames, ordering: .relaxed)
            return SQLITE_OK
        }, Unmanaged.passUnretained(walFrames).toOpaque())
    }

    func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "agentvm.sqlite-checkpointer"
        thread.start()
    }

    /// Called by the writer thread between batches (no transaction open): starts a background
    /// checkpoint past the threshold, copies a finished checkpoint's remainder, or checkpoints
    /// inline past the limit while no background checkpoint runs.
    func afterCommit(writer: SQLiteConnection) {
        let frames = walFrames.value.load(ordering: .relaxed)
        if frames < threshold {
            // The WAL started over: a finished background checkpoint left nothing behind.
            if remainder.load(ordering: .relaxed) { remainder.store(false, ordering: .relaxed) }
            return
        }
        enum Action { case none, signal, inline }
        let action = state.withLock { s -> Action in
            if s.running || s.closed { return .none }
            if remainder.load(ordering: .relaxed) {
                remainder.store(false, ordering: .relaxed)
                return .inline
            }
            if frames >= limit { return .inline }
            guard !s.requested else { return .none }
            s.requested = true
            return .signal
        }
        switch action {
        case .none: break
        case .signal: wake.signal()
        case .inline: checkpointOnWriter(writer)
        }
    }

    /// Stops the thread and closes its connection; waits for a running checkpoint to end.
    func shutdown() {
        let first = state.withLock { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard first else { return }
        wake.signal()
        finished.wait()
        finished.signal()
    }

    private func checkpointOnWriter(_ writer: SQLiteConnection) {
        if checkpoint(writer) != nil {
            onWriter.wrappingAdd(1, ordering: .relaxed)
            walFrames.value.store(0, ordering: .relaxed)
        }
    }

    private func loop() {
        while true {
            wake.wait()
            let run = state.withLock { s -> Bool? in
                if s.closed { return nil }
                guard s.requested else { return false }
                s.requested = false
                s.running = true
                return true
            }
            guard let run else { break }
            guard run else { continue }
            let result = checkpoint(connection)
            if result != nil { background.wrappingAdd(1, ordering: .relaxed) }
            // Commits made while it ran are left in the WAL (a checkpoint copies only what was
            // committed when it began), and the WAL starts over only once nothing is left: the
            // writer copies the rest between two batches. The WAL hook tells whether there is any.
            state.withLock { s in
                s.running = false
                if let log = result?.0, walFrames.value.load(ordering: .relaxed) > log {
                    remainder.store(true, ordering: .relaxed)
                }
            }
        }
        connection.close()
        finished.signal()
    }

    /// A PASSIVE checkpoint on `conn`: (frames in the WAL, frames copied), or nil if it failed
    /// (counted; the next one retries, and SQLite's own recovery never depends on it).
    private func checkpoint(_ conn: SQLiteConnection) -> (Int32, Int32)? {
        var log: Int32 = 0
        var copied: Int32 = 0
        let rc = sqlite3_wal_checkpoint_v2(conn.handle, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
        // Another connection's checkpoint is under way: not a failure, that one does the work.
        if rc == SQLITE_BUSY { return nil }
        guard rc == SQLITE_OK else {
            failures.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
        return (log, copied)
    }
}

/// The WAL hook's cell; a class so the C callback can reach it through its context pointer.
private final class WALFrameCount: Sendable {
    let value = Atomic<Int32>(0)
}
