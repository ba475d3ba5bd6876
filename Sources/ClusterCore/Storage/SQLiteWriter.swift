import Dispatch
import Foundation
import Synchronization

/// The group-commit writer: one dedicated thread owns the write connection. Every write queued
/// while the previous commit was syncing runs in the next transaction, so N concurrent writers pay
/// for one fsync instead of N.
final class SQLiteWriter: Sendable {
    /// One queued write. `run` executes the body and returns how to resume its caller once the
    /// transaction is committed; `fail` resumes the caller with an error.
    struct Job: Sendable {
        let run: @Sendable (SQLiteConnection) throws -> @Sendable () -> Void
        let fail: @Sendable (any Error) -> Void
    }

    private struct Queue {
        var jobs: [Job] = []
        var closed = false
    }

    private let queue = Mutex(Queue())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    // Confined to the writer thread from `start()` on.
    nonisolated(unsafe) private let connection: SQLiteConnection
    private let maxBatch: Int
    private let batchCount = Atomic<UInt64>(0)
    private let writeCount = Atomic<UInt64>(0)
    private let largestBatch = Atomic<Int>(0)
    private let path: String

    init(connection: SQLiteConnection, maxBatch: Int) {
        self.connection = connection
        self.path = connection.path
        self.maxBatch = max(1, maxBatch)
    }

    func start() {
        let thread = Thread { [self] in self.loop() }
        thread.name = Self.threadMarker
        thread.start()
    }

    /// Queues a job; throws when the writer is closed.
    func submit(_ job: Job) throws(SQLiteError) {
        let accepted = queue.withLock { q -> Bool in
            guard !q.closed else { return false }
            q.jobs.append(job)
            return true
        }
        guard accepted else { throw SQLiteError.closed(path) }
        wake.signal()
    }

    /// Stops accepting writes; the thread commits what is queued, closes the connection and exits.
    /// With `wait`, returns only after that.
    func shutdown(wait: Bool) {
        let first = queue.withLock { q -> Bool in
            defer { q.closed = true }
            return !q.closed
        }
        guard first else { return }
        wake.signal()
        if wait {
            finished.wait()
            finished.signal()  // later waiters pass too
        }
    }

    /// Writes queued and not yet taken by the writer thread.
    var queuedCount: Int { queue.withLock { $0.jobs.count } }

    var stats: (batches: UInt64, writes: UInt64, largestBatch: Int) {
        (batchCount.load(ordering: .relaxed), writeCount.load(ordering: .relaxed), largestBatch.load(ordering: .relaxed))
    }

    private func take(upTo limit: Int) -> (jobs: [Job], closed: Bool) {
        queue.withLock { q in
            let n = min(q.jobs.count, limit)
            let taken = Array(q.jobs.prefix(n))
            q.jobs.removeFirst(n)
            return (taken, q.closed && q.jobs.isEmpty)
        }
    }

    private func loop() {
        Thread.current.threadDictionary[Self.threadMarker] = true
        // Writers resumed by a commit usually write again at once, but they come back one by one.
        // Taking only the first of them would split the group into a batch of one plus the rest;
        // so when a batch is smaller than the last one, wait briefly for the others (at most half
        // the last commit's duration, bounded by `maxGatherDelay`). A lone writer never waits.
        var expected = 1
        var lastCommit: UInt64 = 0  // nanoseconds
        while true {
            var (jobs, closed) = take(upTo: maxBatch)
            if jobs.isEmpty {
                if closed { break }
                wake.wait()
                continue
            }
            if jobs.count < expected && !closed {
                let window = min(lastCommit / 2, Self.maxGatherDelay)
                let deadline = DispatchTime.now().uptimeNanoseconds + window
                while jobs.count < expected, DispatchTime.now().uptimeNanoseconds < deadline {
                    _ = wake.wait(timeout: DispatchTime(uptimeNanoseconds: deadline))
                    let more = take(upTo: maxBatch - jobs.count)
                    jobs += more.jobs
                    if more.closed { break }
                }
            }
            let started = DispatchTime.now().uptimeNanoseconds
            runBatch(jobs)
            lastCommit = DispatchTime.now().uptimeNanoseconds - started
            expected = jobs.count
            closed = queue.withLock { $0.closed && $0.jobs.isEmpty }
            if closed { break }
        }
        connection.close()
        finished.signal()
    }

    /// Marks writer threads (name and thread-dictionary key), so a body that calls back into the
    /// writer is caught instead of deadlocking.
    static let threadMarker = "agentvm.sqlite-writer"

    /// True on a writer thread, i.e. inside a write body.
    static var isWriterThread: Bool { Thread.current.threadDictionary[threadMarker] != nil }

    /// Longest a batch waits for more writers to rejoin it, in nanoseconds.
    static let maxGatherDelay: UInt64 = 1_000_000

    /// Runs `jobs` in one transaction, each inside its own savepoint so a failing body is undone
    /// alone, then commits once and resumes every caller.
    private func runBatch(_ jobs: [Job]) {
        batchCount.wrappingAdd(1, ordering: .relaxed)
        writeCount.wrappingAdd(UInt64(jobs.count), ordering: .relaxed)
        if jobs.count > largestBatch.load(ordering: .relaxed) { largestBatch.store(jobs.count, ordering: .relaxed) }

        var pending = jobs[...]
        while !pending.isEmpty {
            do {
                try connection.execute("BEGIN IMMEDIATE")
            } catch {
                for job in pending { job.fail(error) }
                return
            }
            var succeeded: [(job: Job, resume: @Sendable () -> Void)] = []
            var failed: [(job: Job, error: any Error)] = []
            var abortedBy: (any Error)?
            while let job = pending.first {
                pending = pending.dropFirst()
                do {
                    try connection.execute("SAVEPOINT agentvm_write")
                    do {
                        let resume = try job.run(connection)
                        try connection.execute("RELEASE agentvm_write")
                        succeeded.append((job, resume))
                    } catch {
                        if connection.isAutocommit {
                            // SQLite rolled back the whole transaction on its own (disk full, I/O
                            // error): the earlier bodies' work is gone too.
                            failed.append((job, error))
                            abortedBy = error
                            break
                        }
                        try connection.execute("ROLLBACK TO agentvm_write")
                        try connection.execute("RELEASE agentvm_write")
                        failed.append((job, error))
                    }
                } catch {
                    failed.append((job, error))
                    if connection.isAutocommit { abortedBy = error; break }
                }
            }
            if let abortedBy {
                for s in succeeded {
                    s.job.fail(SQLiteError(code: -1, message: "transaction rolled back by SQLite after another write failed: \(abortedBy)", context: path))
                }
                for f in failed { f.job.fail(f.error) }
                continue  // the rest of the batch gets a fresh transaction
            }
            do {
                try connection.execute("COMMIT")
            } catch {
                if !connection.isAutocommit { try? connection.execute("ROLLBACK") }
                for s in succeeded { s.job.fail(error) }
                for f in failed { f.job.fail(f.error) }
                continue
            }
            for s in succeeded { s.resume() }
            for f in failed { f.job.fail(f.error) }
        }
    }
}
