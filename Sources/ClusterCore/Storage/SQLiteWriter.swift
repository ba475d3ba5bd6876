import Dispatch
import Foundation
import Synchronization

/// The group-commit writer: one dedicated thread owns the write connection. Every write queued
/// while the previous commit was syncing runs in the next transaction, so N concurrent writers pay
/// for one fsync instead of N.
///
/// The per-batch cost beyond the fsync is what decides how much group commit wins when fsync is
/// fast, so the hot path is lean: a batch runs optimistically without savepoints (a savepoint pair
/// per write is replayed only when a write fails), bodies run while the batch is still gathering,
/// the thread is woken a few times per batch rather than once per write, and callers are resumed
/// straight from this thread.
final class SQLiteWriter: Sendable {
    private struct State {
        var pending: [any SQLiteWriteRequest] = []
        var closed = false
        /// While the writer sleeps: the number of pending requests that wakes it (0: it is awake).
        /// Submitters signal only when they reach it, so a batch costs a few wake-ups, not one per write.
        var wakeAt = 0
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    // Confined to the writer thread from `start()` on.
    nonisolated(unsafe) private let connection: SQLiteConnection
    private let maxBatch: Int
    private let path: String
    private let counters = Counters()
    private let checkpointer: SQLiteCheckpointer

    init(connection: SQLiteConnection, maxBatch: Int, checkpointer: SQLiteCheckpointer) {
        self.connection = connection
        self.path = connection.path
        self.maxBatch = max(1, maxBatch)
        self.checkpointer = checkpointer
    }

    func start() {
        checkpointer.start()
        let thread = Thread { [self] in self.loop() }
        thread.name = Self.threadMarker
        thread.start()
    }

    /// Queues a request; throws when the writer is closed.
    func submit(_ request: any SQLiteWriteRequest) throws(SQLiteError) {
        let (accepted, wakeWriter) = state.withLock { s -> (Bool, Bool) in
            guard !s.closed else { return (false, false) }
            s.pending.append(request)
            guard s.wakeAt > 0, s.pending.count >= s.wakeAt else { return (true, false) }
            s.wakeAt = 0
            return (true, true)
        }
        guard accepted else { throw SQLiteError.closed(path) }
        if wakeWriter { wake.signal() }
    }

    /// Stops accepting writes; the thread commits what is queued, closes the connection and exits.
    /// With `wait`, returns only after that.
    func shutdown(wait: Bool) {
        let first = state.withLock { s -> Bool in
            defer {
                s.closed = true
                s.wakeAt = 0
            }
            return !s.closed
        }
        guard first else { return }
        wake.signal()
        if wait {
            finished.wait()
            finished.signal()  // later waiters pass too
        }
    }

    /// Writes queued and not yet taken by the writer thread.
    var queuedCount: Int { state.withLock { $0.pending.count } }

    var stats: SQLiteWriteStats {
        var s = counters.snapshot()
        s.backgroundCheckpoints = checkpointer.background.load(ordering: .relaxed)
        s.writerCheckpoints = checkpointer.onWriter.load(ordering: .relaxed)
        s.failedCheckpoints = checkpointer.failures.load(ordering: .relaxed)
        return s
    }

    /// Moves pending requests into `batch`, up to `maxBatch`. If `batch` then holds fewer than
    /// `want`, arms the wake-up and returns false; true when there is nothing to wait for (enough
    /// requests, or closed).
    private func take(into batch: inout [any SQLiteWriteRequest], want: Int) -> (enough: Bool, closed: Bool) {
        state.withLock { s in
            let room = maxBatch - batch.count
            if s.pending.count <= room {
                batch.append(contentsOf: s.pending)
                s.pending.removeAll(keepingCapacity: true)
            } else {
                batch.append(contentsOf: s.pending[..<room])
                s.pending.removeFirst(room)
            }
            let drained = s.closed && s.pending.isEmpty
            let missing = min(want, maxBatch) - batch.count
            if missing <= 0 || s.closed { return (true, drained) }
            // Woken when half the missing writes are in, the writer runs those while the rest are
            // on their way: a few wake-ups per batch instead of one per write, and only the last
            // few bodies run after the last writer arrives.
            s.wakeAt = (missing + 1) / 2
            return (false, drained)
        }
    }

    private func disarm() { state.withLock { $0.wakeAt = 0 } }

    private func loop() {
        Thread.current.threadDictionary[Self.threadMarker] = true
        var expected = 1  // the size of the last batch: how many writers are likely to come back
        var lastCommit: UInt64 = 0  // nanoseconds
        var batch: [any SQLiteWriteRequest] = []
        var outcomes: [(any Error)?] = []  // how each request of the batch ends; nil: committed
        batch.reserveCapacity(64)
        while true {
            batch.removeAll(keepingCapacity: true)
            // With `want: 1`, an empty batch means closed and drained, or the wake-up is armed.
            var (_, closed) = take(into: &batch, want: 1)
            if batch.isEmpty {
                if closed { break }
                wake.wait()
                continue
            }
            let start = DispatchTime.now().uptimeNanoseconds
            var executing: UInt64 = 0
            let window = min(lastCommit / 2, Self.maxGatherDelay)
            let commitStart = runBatch(&batch, expected: expected, window: window, closed: &closed,
                                       outcomes: &outcomes, executing: &executing)
            let completeStart = DispatchTime.now().uptimeNanoseconds
            lastCommit = completeStart - commitStart
            // Counted before the callers resume, so a caller reading the stats sees its own batch.
            counters.record(batch: batch.count, gather: commitStart - start - min(executing, commitStart - start),
                            execute: executing, commit: completeStart - commitStart)
            completeAll(batch, &outcomes)
            counters.recordComplete(DispatchTime.now().uptimeNanoseconds - completeStart)
            // After the callers are resumed, so whatever checkpoint work falls to this thread
            // overlaps with them preparing their next writes.
            checkpointer.afterCommit(writer: connection)
            expected = batch.count
            if closed && queuedCount == 0 { break }
        }
        batch.removeAll()
        checkpointer.shutdown()
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

    // MARK: - Running a batch

    /// Runs a batch whose first requests are in `batch`, and records in `outcomes` how each
    /// request ends (nil: committed); returns when its commit began (uptime ns).
    ///
    /// Writers resumed by a commit usually write again at once, but they come back one by one.
    /// Committing only the first of them would split the group into a batch of one plus the rest;
    /// so while the batch is smaller than `expected` (the last batch's size), the writer waits for
    /// the others, at most `window`. It runs each body as soon as it is taken, so the bodies run
    /// while the other writers are still on their way. A lone writer never waits.
    ///
    /// The bodies run optimistically in one plain transaction: in the common case, where nothing
    /// fails, no savepoints are paid for. If a body or statement fails, that transaction is rolled
    /// back and the batch is replayed with a savepoint per body, so the failing write fails alone
    /// and the others commit.
    private func runBatch(_ batch: inout [any SQLiteWriteRequest], expected: Int, window: UInt64, closed: inout Bool,
                          outcomes: inout [(any Error)?], executing: inout UInt64) -> UInt64 {
        var beginError: (any Error)?
        do { try connection.execute("BEGIN IMMEDIATE") } catch { beginError = error }
        var ran = 0
        var failed = false
        func runTaken() {
            guard !failed else { return }
            let t0 = DispatchTime.now().uptimeNanoseconds
            while ran < batch.count {
                do { try batch[ran].run(connection) } catch {
                    failed = true
                    break
                }
                ran += 1
            }
            executing += DispatchTime.now().uptimeNanoseconds - t0
        }
        if beginError == nil {
            runTaken()
            if !failed && batch.count < expected && !closed {
                let deadline = DispatchTime(uptimeNanoseconds: DispatchTime.now().uptimeNanoseconds + window)
                while !closed && !failed {
                    let taken = take(into: &batch, want: expected)
                    closed = taken.closed
                    runTaken()
                    if taken.enough { break }
                    // A failed body dooms this batch to a replay: leave what is still queued to the
                    // next, optimistic batch rather than pull it into the replay.
                    if failed {
                        disarm()
                        break
                    }
                    if wake.wait(timeout: deadline) == .timedOut {
                        disarm()
                        closed = take(into: &batch, want: 0).closed
                        runTaken()
                        break
                    }
                }
            }
        }
        outcomes.removeAll(keepingCapacity: true)
        outcomes.append(contentsOf: repeatElement(nil, count: batch.count))
        if let beginError {
            for i in batch.indices { outcomes[i] = beginError }
            return DispatchTime.now().uptimeNanoseconds
        }
        if failed {
            if !connection.isAutocommit { try? connection.execute("ROLLBACK") }
            counters.replays.wrappingAdd(1, ordering: .relaxed)
            return runWithSavepoints(batch, &outcomes)
        }
        let commitStart = DispatchTime.now().uptimeNanoseconds
        do {
            try connection.execute("COMMIT")
            counters.transactions.wrappingAdd(1, ordering: .relaxed)
        } catch {
            if !connection.isAutocommit { try? connection.execute("ROLLBACK") }
            for i in batch.indices { outcomes[i] = error }
        }
        return commitStart
    }

    /// The replay: each body in its own savepoint. If SQLite aborts the whole transaction (disk
    /// full, I/O error), the bodies already run in it fail too and the rest gets a fresh one.
    private func runWithSavepoints(_ batch: [any SQLiteWriteRequest], _ outcomes: inout [(any Error)?]) -> UInt64 {
        var commitStart = DispatchTime.now().uptimeNanoseconds
        var next = 0
        while next < batch.count {
            let first = next
            do {
                try connection.execute("BEGIN IMMEDIATE")
            } catch {
                for i in first..<batch.count { outcomes[i] = error }
                return commitStart
            }
            var abortedBy: (any Error)?
            while next < batch.count, abortedBy == nil {
                let i = next
                next += 1
                do {
                    try connection.execute("SAVEPOINT agentvm_write")
                } catch {
                    outcomes[i] = error
                    abortedBy = error
                    break
                }
                do {
                    try batch[i].run(connection)
                    try connection.execute("RELEASE agentvm_write")
                } catch {
                    outcomes[i] = error
                    if connection.isAutocommit { abortedBy = error; break }  // SQLite rolled back on its own
                    do {
                        try connection.execute("ROLLBACK TO agentvm_write")
                        try connection.execute("RELEASE agentvm_write")
                    } catch let undo {
                        abortedBy = undo  // the body's work could not be undone alone: drop the transaction
                    }
                }
            }
            if let abortedBy {
                if !connection.isAutocommit { try? connection.execute("ROLLBACK") }
                let lost = SQLiteError(code: -1, message: "transaction rolled back after another write failed: \(abortedBy)", context: path)
                for i in first..<next where outcomes[i] == nil { outcomes[i] = lost }
                continue  // the rest of the batch gets a fresh transaction
            }
            commitStart = DispatchTime.now().uptimeNanoseconds
            do {
                try connection.execute("COMMIT")
                counters.transactions.wrappingAdd(1, ordering: .relaxed)
            } catch {
                if !connection.isAutocommit { try? connection.execute("ROLLBACK") }
                for i in first..<next where outcomes[i] == nil { outcomes[i] = error }
            }
        }
        return commitStart
    }

    /// Resumes every caller of the batch, exactly once each, in submission order.
    private func completeAll(_ batch: [any SQLiteWriteRequest], _ outcomes: inout [(any Error)?]) {
        for (request, outcome) in zip(batch, outcomes) {
            if let outcome { request.fail(outcome) } else { request.succeed() }
        }
        outcomes.removeAll(keepingCapacity: true)
    }
}

/// Group-commit counters, updated by the writer thread and read by anyone.
private final class Counters: Sendable {
    let transactions = Atomic<UInt64>(0)
    let replays = Atomic<UInt64>(0)
    private let batches = Atomic<UInt64>(0)
    private let writes = Atomic<UInt64>(0)
    private let largest = Atomic<Int>(0)
    private let gather = Atomic<UInt64>(0)
    private let execute = Atomic<UInt64>(0)
    private let commit = Atomic<UInt64>(0)
    private let complete = Atomic<UInt64>(0)

    func recordComplete(_ r: UInt64) { complete.wrappingAdd(r, ordering: .relaxed) }

    func record(batch: Int, gather g: UInt64, execute e: UInt64, commit c: UInt64) {
        batches.wrappingAdd(1, ordering: .relaxed)
        writes.wrappingAdd(UInt64(batch), ordering: .relaxed)
        if batch > largest.load(ordering: .relaxed) { largest.store(batch, ordering: .relaxed) }
        gather.wrappingAdd(g, ordering: .relaxed)
        execute.wrappingAdd(e, ordering: .relaxed)
        commit.wrappingAdd(c, ordering: .relaxed)
    }

    func snapshot() -> SQLiteWriteStats {
        SQLiteWriteStats(
            transactions: transactions.load(ordering: .relaxed), writes: writes.load(ordering: .relaxed),
            largestBatch: largest.load(ordering: .relaxed), batches: batches.load(ordering: .relaxed),
            replays: replays.load(ordering: .relaxed),
            gatherNanoseconds: gather.load(ordering: .relaxed), executeNanoseconds: execute.load(ordering: .relaxed),
            commitNanoseconds: commit.load(ordering: .relaxed), completeNanoseconds: complete.load(ordering: .relaxed),
            backgroundCheckpoints: 0, writerCheckpoints: 0, failedCheckpoints: 0)
    }
}
