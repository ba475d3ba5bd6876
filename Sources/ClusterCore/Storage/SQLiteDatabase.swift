import Dispatch
import Foundation
import Synchronization

/// A SQLite database file used durably and concurrently: WAL journal, `synchronous=FULL`, one
/// group-commit writer thread and one reader connection.
///
/// Durability: `write` and `writeBlocking` return only after the transaction holding the body's
/// work has committed, and with WAL + `synchronous=FULL` a committed transaction has been fsynced,
/// so it survives SIGKILL and power loss. Group commit: bodies queued while the writer is busy run
/// together in one transaction (each in its own SAVEPOINT, so a body that throws is rolled back and
/// fails alone) and share one fsync.
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
        try w.executeScript("PRAGMA synchronous=FULL")
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
        self.writer = SQLiteWriter(connection: w, maxBatch: maxBatch)
        writer.start()
    }

    deinit { writer.shutdown(wait: false) }

    /// Runs `body` in the next group-commit transaction on the writer thread; returns its result
    /// once that transaction has committed (durable). If `body` throws, its changes are rolled back
    /// and only this call fails. Never call `write` or `writeBlocking` from inside a body.
    public func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            do {
                try writer.submit(SQLiteWriter.Job(
                    run: { conn in
                        let value = try body(conn)
                        return { c.resume(returning: value) }
                    },
                    fail: { c.resume(throwing: $0) }))
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
        let box = BlockingResult<T>()
        try writer.submit(SQLiteWriter.Job(
            run: { conn in
                let value = try body(conn)
                return { box.finish(.success(value)) }
            },
            fail: { box.finish(.failure($0)) }))
        return try box.wait()
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

    /// Group-commit figures: transactions committed, writes in them, largest batch.
    public var writeStats: SQLiteWriteStats {
        let s = writer.stats
        return SQLiteWriteStats(transactions: s.batches, writes: s.writes, largestBatch: s.largestBatch)
    }
}

/// How well group commit batched: `writes / transactions` is the mean batch size.
public struct SQLiteWriteStats: Sendable, Hashable {
    public var transactions: UInt64
    public var writes: UInt64
    public var largestBatch: Int
}

/// A result handed from the writer thread to a blocked caller.
private final class BlockingResult<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func finish(_ r: Result<T, any Error>) {
        result.withLock { $0 = r }
        done.signal()
    }

    func wait() throws -> T {
        done.wait()
        guard let r = result.withLock({ $0 }) else {
            throw SQLiteError(code: -1, message: "write finished without a result", context: "writeBlocking")
        }
        return try r.get()
    }
}
