import Dispatch

/// One write waiting for the group-commit writer: runs its body on the writer's connection, keeps
/// the result, and hands it to its caller once the transaction holding it has committed.
///
/// Only the writer thread touches a request between `submit` and its completion, and it completes
/// each request exactly once (`succeed` or `fail`); `run` may be called more than once when the
/// batch is replayed, and only the run that committed counts.
protocol SQLiteWriteRequest: AnyObject, Sendable {
    /// Runs the body inside the writer's transaction and keeps its result.
    func run(_ connection: SQLiteConnection) throws
    /// Hands the kept result to the caller: the transaction holding it has committed.
    func succeed()
    /// Hands `error` to the caller: its write did not commit.
    func fail(_ error: any Error)
}

/// A write whose caller awaits it. One allocation per write; the continuation is resumed straight
/// from the writer thread.
final class AsyncWriteRequest<T: Sendable>: SQLiteWriteRequest, @unchecked Sendable {
    private let body: @Sendable (SQLiteConnection) throws -> T
    private let continuation: UnsafeContinuation<T, any Error>
    // Written by `run` and read by `succeed`, both on the writer thread.
    private var result: T?

    init(body: @escaping @Sendable (SQLiteConnection) throws -> T, continuation: UnsafeContinuation<T, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    func run(_ connection: SQLiteConnection) throws { result = try body(connection) }

    func succeed() {
        guard let result else {
            continuation.resume(throwing: SQLiteError(code: -1, message: "write committed without a result", context: "write"))
            return
        }
        continuation.resume(returning: result)
    }

    func fail(_ error: any Error) { continuation.resume(throwing: error) }
}

/// `AsyncWriteRequest` for the common body that returns nothing (most writes). Not generic, so the
/// writer thread runs and resumes it without looking up generic metadata per write.
final class AsyncVoidWriteRequest: SQLiteWriteRequest, @unchecked Sendable {
    private let body: @Sendable (SQLiteConnection) throws -> Void
    private let continuation: UnsafeContinuation<Void, any Error>

    init(body: @escaping @Sendable (SQLiteConnection) throws -> Void, continuation: UnsafeContinuation<Void, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    func run(_ connection: SQLiteConnection) throws { try body(connection) }
    func succeed() { continuation.resume() }
    func fail(_ error: any Error) { continuation.resume(throwing: error) }
}

/// A write whose caller blocks its thread until the commit.
final class BlockingWriteRequest<T: Sendable>: SQLiteWriteRequest, @unchecked Sendable {
    private let body: @Sendable (SQLiteConnection) throws -> T
    private let done = DispatchSemaphore(value: 0)
    // `run` writes `value` and `succeed`/`fail` write `outcome` on the writer thread; the caller
    // reads `outcome` only after `done` is signalled, which orders the accesses.
    private var value: T?
    private var outcome: Result<T, any Error>?

    init(body: @escaping @Sendable (SQLiteConnection) throws -> T) { self.body = body }

    func run(_ connection: SQLiteConnection) throws { value = try body(connection) }

    func succeed() {
        outcome = value.map { .success($0) }
            ?? .failure(SQLiteError(code: -1, message: "write committed without a result", context: "writeBlocking"))
        done.signal()
    }

    func fail(_ error: any Error) {
        outcome = .failure(error)
        done.signal()
    }

    /// Blocks until the writer has completed this request.
    func wait() throws -> T {
        done.wait()
        guard let outcome else {
            throw SQLiteError(code: -1, message: "write finished without a result", context: "writeBlocking")
        }
        return try outcome.get()
    }
}
