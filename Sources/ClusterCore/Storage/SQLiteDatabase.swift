import Dispatch
import Foundation
import Synchronization

/// A SQLite database file used durably and concurrently: WAL journal, `synchronous=FULL`, one
/// group-commit writer thread, a background checkpointer and one reader connection.
///
/// Durability: `write` and `writeBlocking` return only after the transaction holding the body's
/// work has committed, and with WAL + `synchronous=FULL` a committed transaction has been fsynced,
/// so it survives SIGKILL and power loss. Group commit: bodies queued while the writer is busy run
/// together in one transaction and share one fsync. A body that throws fails alone: the batch is
/// then rolled back and replayed with a SAVEPOINT per body, so the others still commit.
///
/// Checkpoints (copying the WAL into the database file) run on a background thread with its own
/// connection rather than inside a batch's COMMIT (`SQLiteCheckpointer`).
///
/// Reads go through `read`, serialized on a separate connection; they see every committed write
/// (a write call that has returned is visible to every later read).
public final class SQLiteDatabase: Sendable {
    /// The database file.
    public let path: String
    private let writer: SQLiteWriter
    private let readerLock = Mutex(false)  // true once closed
    nonisolated(unsafe) private let reader: SQLiteConnection

    /// Opens or creates the file at `path`, switches it to WAL with `synchronous=FULL`, and runs
    /// `schema` (a script of `;`-separated statements, e.g. `CREATE TABLE IF NOT EXISTS ...`) in
    /// one transaction before anything else. `maxBatch` bounds how many writes share a commit.
    public init(path: String, schema: String = "", busyTimeout: Duration = .seconds(5), maxBatch: Int = 1024) throws {
        self.path = path
        let w = try SQLiteConnection(path: path, busyTimeout: busyTimeout)
        let mode = try w.queryFirst("PRAGMA journal_mode=WAL") { $0.text(0) }
        guard mode?.lowercased() == "wal" else {
            throw SQLiteError(code: -1, message: "could not switch to WAL (journal_mode is \(mode ?? "unknown"))", context: path)
        }
        try w.executeScript("PRAGMA synchronous=FULL; PRAGMA cache_size=-\(Self.pageCacheKiB)")
        if !schema.isEmpty {
            try w.executeScript("BEGIN IMMEDIATE")
            do {
                try w.executeScript(schema)
                try w.executeScript("COMMIT")
            } catch {
                try? w.executeScript("ROLLBACK")
                throw error
            }
        }
        self.reader = try SQLiteConnection(path: path, busyTimeout: busyTimeout)
        try reader.executeScript("PRAGMA cache_size=-\(Self.readerPageCacheKiB)")
        let checkpointer = try SQLiteCheckpointer(writer: w, busyTimeout: busyTimeout)
        self.writer = SQLiteWriter(connection: w, maxBatch: maxBatch, checkpointer: checkpointer)
        writer.start()
    }

    deinit { writer.shutdown(wait: false) }

    /// The writer's page cache, in KiB (SQLite's default is 2,000). A batch of writes to scattered
    /// keys touches a page per key; with the default cache those pages are read back through the
    /// kernel on every batch once the table outgrows it, on the writer's critical path. Memory is
    /// taken only as pages are used.
    static let pageCacheKiB = 32 * 1024
    /// The reader's page cache, in KiB: reads are point lookups and short prefix scans.
    static let readerPageCacheKiB = 8 * 1024

    /// Runs `body` in the next group-commit transaction on the writer thread; returns its result
    /// once that transaction has committed (durable). If `body` throws, its changes are rolled back
    /// and only this call fails. Never call `write` or `writeBlocking` from inside a body.
    ///
    /// A body may run more than once: when another body in its batch fails, the batch is rolled
    /// back and replayed with a savepoint per body, and only the run that committed counts. So a
    /// body must act only through its connection (plain reads, computations and statements).
    public func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withUnsafeThrowingContinuation { (c: UnsafeContinuation<T, any Error>) in
            // The writer completes every request it accepted exactly once.
            do {
                try writer.submit(AsyncWriteRequest(body: body, continuation: c))
            } catch {
                c.resume(throwing: error)
            }
        }
    }

    /// `write` for a body that returns nothing: the same guarantees, a little less work per write.
    public func write(_ body: @escaping @Sendable (SQLiteConnection) throws -> Void) async throws {
        try await withUnsafeThrowingContinuation { (c: UnsafeContinuation<Void, any Error>) in
            do {
                try writer.submit(AsyncVoidWriteRequest(body: body, continuation: c))
            } catch {
                c.resume(throwing: error)
            }
        }
    }

    /// `write` for callers on threads that cannot await: blocks the calling thread until commit.
    /// Called from inside a write body it throws instead of deadlocking.
    public func writeBlocking<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) throws -> T {
        guard !SQLiteWriter.isWriterThread else {
            throw SQLiteError(code: -1, message: "writeBlocking called from inside a write body (it would wait for itself); use the body's connection", context: path)
        }
        let request = BlockingWriteRequest(body: body)
        try writer.submit(request)
        return try request.wait()
    }

    /// Runs `body` on the reader connection, one reader at a time. Reads see committed data only.
    public func read<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try readerLock.withLock { closed throws -> T in
            guard !closed else { throw SQLiteError.closed(path) }
            return try body(reader)
        }
    }

    /// Commits queued writes, then closes both connections. Later calls throw `closed`. Idempotent.
    public func close() {
        writer.shutdown(wait: true)
        readerLock.withLock { closed in
            guard !closed else { return }
            closed = true
            reader.close()
        }
    }

    /// Writes waiting for the writer thread (not yet in a transaction).
    public var queuedWrites: Int { writer.queuedCount }

    /// Group-commit figures: transactions committed, writes, batches, replays, time per phase.
    public var writeStats: SQLiteWriteStats { writer.stats }
}

/// How well group commit batched (`writes / batches` is the mean batch size) and where the writer
/// thread's time went, summed over all batches.
public struct SQLiteWriteStats: Sendable, Hashable {
    /// Transactions committed.
    public var transactions: UInt64
    /// Writes taken by the writer (committed or failed).
    public var writes: UInt64
    /// Most writes taken into one batch.
    public var largestBatch: Int
    /// Batches run (one optimistic transaction each, unless replayed).
    public var batches: UInt64
    /// Batches rolled back and replayed with a savepoint per write because one write failed.
    public var replays: UInt64
    /// Waiting for more writers to join a batch after its first write arrived.
    public var gatherNanoseconds: UInt64
    /// `BEGIN` and the bodies' statements.
    public var executeNanoseconds: UInt64
    /// `COMMIT`, which with `synchronous=FULL` includes the WAL fsync.
    public var commitNanoseconds: UInt64
    /// Resuming the callers.
    public var completeNanoseconds: UInt64
    /// Checkpoints run by the background checkpointer.
    public var backgroundCheckpoints: UInt64
    /// Checkpoints run by the writer between batches: the remainder of a background one, or all of
    /// it when the WAL outgrew the checkpointer.
    public var writerCheckpoints: UInt64
    /// Checkpoints that failed (retried by the next one; recovery never depends on them).
    public var failedCheckpoints: UInt64
}
