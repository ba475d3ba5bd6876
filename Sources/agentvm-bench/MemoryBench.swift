import CSQLite
import ClusterCore
import Foundation
import Synchronization

/// Memory benchmarks: in-memory operations, the raw SQLite durable-insert baseline, and our durable
/// SQLite backend with 1 and 16 concurrent writers. Prints one `NAME VALUE` line per figure.
enum MemoryBench {
    /// How long each timed SQLite figure runs in total, split into `sqliteRounds` windows.
    static let sqliteWindow: Duration = .seconds(3)
    /// The raw baseline and the durable backend take turns, a window each per round, so that a
    /// disk whose fsync time drifts (other work on the machine) weighs on both alike.
    static let sqliteRounds = 3

    static func run() async throws {
        let ops = try await memoryOpsPerSecond()
        report("memory_ops_per_s", ops)

        // AGENTVM_BENCH_DIR puts the files on another disk (e.g. /dev/shm, to see the CPU cost alone).
        let base = ProcessInfo.processInfo.environment["AGENTVM_BENCH_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
        let dir = base.appendingPathComponent("agentvm-bench-memory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        let raw = try RawInserter(path: dir.appendingPathComponent("raw.db").path)
        let one = try SQLiteBackend(path: dir.appendingPathComponent("durable1.db").path)
        let sixteen = try SQLiteBackend(path: dir.appendingPathComponent("durable16.db").path)
        defer {
            one.close()
            sixteen.close()
        }
        let spreadDB = try SQLiteBackend(path: dir.appendingPathComponent("durable16-spread.db").path)
        defer { spreadDB.close() }
        let window = sqliteWindow / sqliteRounds
        let oneKeys = KeySequence(), sixteenKeys = KeySequence()
        var rawRun = Run(), oneRun = Run(), sixteenRun = Run(), spreadRun = Run()
        for round in 0..<sqliteRounds {
            var cpu = processCPUSeconds()
            rawRun.add(try raw.insert(for: window), cpuSince: cpu)
            cpu = processCPUSeconds()
            oneRun.add(try await durableWrites(writers: 1, backend: one, round: round, keys: oneKeys, for: window), cpuSince: cpu)
            cpu = processCPUSeconds()
            sixteenRun.add(try await durableWrites(writers: 16, backend: sixteen, round: round, keys: sixteenKeys, for: window), cpuSince: cpu)
            cpu = processCPUSeconds()
            spreadRun.add(try await durableWrites(writers: 16, backend: spreadDB, round: round, keys: sixteenKeys, spread: true,
                                                  for: window), cpuSince: cpu)
        }
        report("sqlite_raw_inserts_per_s", rawRun.rate)
        report("sqlite_durable_writes_per_s_1", oneRun.rate)
        report("sqlite_durable_writes_per_s_16", sixteenRun.rate)
        print("sqlite_durable_ratio_16 \(String(format: "%.2f", rawRun.rate > 0 ? sixteenRun.rate / rawRun.rate : 0))")
        // The same 16 writers, each in its own namespace: a batch dirties a page per writer, so
        // its commit writes (and syncs) several times more WAL than one baseline insert does.
        report("sqlite_durable_writes_per_s_16_spread", spreadRun.rate)
        print("sqlite_durable_ratio_16_spread \(String(format: "%.2f", rawRun.rate > 0 ? spreadRun.rate / rawRun.rate : 0))")
        let stats = sixteen.database.writeStats
        let batches = Double(max(stats.batches, 1))
        print("sqlite_durable_mean_batch_16 \(String(format: "%.2f", Double(stats.writes) / batches))")
        // Where a batch's time goes with 16 writers, in microseconds per batch. `turnaround` is the
        // rest of the cycle: the writer idle until the first write of the next batch arrives.
        let cycle = sixteenRun.seconds * 1e6 / batches
        let phases = [("gather", stats.gatherNanoseconds), ("execute", stats.executeNanoseconds),
                      ("commit", stats.commitNanoseconds), ("complete", stats.completeNanoseconds)]
            .map { ($0.0, Double($0.1) / 1e3 / batches) }
        print("sqlite_raw_cpu_us_per_write \(String(format: "%.1f", rawRun.cpuMicrosecondsPerOperation))")
        print("sqlite_durable_cpu_us_per_write_16 \(String(format: "%.1f", sixteenRun.cpuMicrosecondsPerOperation))")
        print("sqlite_raw_commit_us \(String(format: "%.1f", rawRun.rate > 0 ? 1e6 / rawRun.rate : 0))")
        print("sqlite_durable_batch_cycle_us_16 \(String(format: "%.1f", cycle))")
        for (name, us) in phases { print("sqlite_durable_batch_\(name)_us_16 \(String(format: "%.1f", us))") }
        print("sqlite_durable_batch_turnaround_us_16 \(String(format: "%.1f", cycle - phases.reduce(0) { $0 + $1.1 }))")
        print("sqlite_durable_checkpoints_16 background=\(stats.backgroundCheckpoints) writer=\(stats.writerCheckpoints) failed=\(stats.failedCheckpoints)")
    }

    /// Operations and seconds summed over the windows of one figure.
    struct Run {
        var operations = 0
        var seconds = 0.0
        /// CPU time of the whole process (all threads) during the windows: unlike wall time, it
        /// hardly depends on what else the machine runs.
        var cpuSeconds = 0.0
        mutating func add(_ r: (operations: Int, seconds: Double), cpuSince cpu: Double) {
            cpuSeconds += processCPUSeconds() - cpu
            operations += r.operations
            seconds += r.seconds
        }
        var rate: Double { seconds > 0 ? Double(operations) / seconds : 0 }
        var cpuMicrosecondsPerOperation: Double { operations > 0 ? cpuSeconds * 1e6 / Double(operations) : 0 }
    }

    static func processCPUSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        let user = Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) * 1e-6
        let system = Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) * 1e-6
        return user + system
    }

    private static func report(_ name: String, _ value: Double) {
        print("\(name) \(Int(value.rounded()))")
    }

    /// In-memory `set` + `get` pairs per second, over 1,024 keys of one namespace.
    static func memoryOpsPerSecond() async throws -> Double {
        let bus = MemoryBus(backend: InMemoryBackend(), events: EventBus())
        let keys = (0..<1024).map { "key-\($0)" }
        var pairs = 0
        var checksum = 0.0
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(2)
        while clock.now < deadline {
            for i in 0..<10_000 {
                let key = keys[i & 1023]
                try await bus.set("bench", key, .number(Double(i)))
                if case .number(let d)? = try bus.get("bench", key) { checksum += d }
            }
            pairs += 10_000
        }
        let elapsed = clock.now - start
        precondition(checksum > 0, "reads returned nothing")
        return Double(pairs) / seconds(elapsed)
    }

    /// The baseline: raw SQLite through the C API on the same disk, with the same PRAGMAs (WAL,
    /// `synchronous=FULL`), the same table and the same upsert as `SQLiteBackend`, one autocommit
    /// transaction (one fsync) per insert.
    final class RawInserter {
        private let db: OpaquePointer
        private let stmt: OpaquePointer
        private var n = 0

        init(path: String) throws {
            var handle: OpaquePointer?
            guard sqlite3_open(path, &handle) == SQLITE_OK, let handle else { throw BenchError("cannot open \(path)") }
            for sql in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", SQLiteBackend.schema] {
                guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else {
                    defer { sqlite3_close(handle) }
                    throw BenchError("\(sql): \(String(cString: sqlite3_errmsg(handle)))")
                }
            }
            var prepared: OpaquePointer?
            guard sqlite3_prepare_v2(handle, SQLiteBackend.upsert, -1, &prepared, nil) == SQLITE_OK, let prepared else {
                defer { sqlite3_close(handle) }
                throw BenchError("prepare: \(String(cString: sqlite3_errmsg(handle)))")
            }
            db = handle
            stmt = prepared
        }

        deinit {
            sqlite3_finalize(stmt)
            sqlite3_close(db)
        }

        /// Inserts rows shaped like `MemoryBus.set` makes them, one transaction each, for `window`.
        func insert(for window: Duration) throws -> (operations: Int, seconds: Double) {
            let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
            let clock = ContinuousClock()
            let start = clock.now
            let deadline = start + window
            var done = 0
            while clock.now < deadline {
                sqlite3_reset(stmt)
                sqlite3_bind_text(stmt, 1, "raw", -1, transient)
                sqlite3_bind_text(stmt, 2, "key-\(n)", -1, transient)
                sqlite3_bind_text(stmt, 3, JSONValue.number(Double(n)).jsonString, -1, transient)
                sqlite3_bind_null(stmt, 4)
                sqlite3_bind_double(stmt, 5, Date().timeIntervalSince1970)
                guard sqlite3_step(stmt) == SQLITE_DONE else { throw BenchError("insert: \(String(cString: sqlite3_errmsg(db)))") }
                n += 1
                done += 1
            }
            return (done, MemoryBench.seconds(clock.now - start))
        }
    }

    /// The next key number of one run, shared by its writers.
    final class KeySequence: Sendable {
        private let next = Atomic<Int>(0)
        func take() -> Int { next.wrappingAdd(1, ordering: .relaxed).oldValue }
    }

    /// `MemoryBus.set` on `backend` by `writers` concurrent tasks for `window`, each waiting for its
    /// write to be durable before the next. `spread`: each writer has its own namespace (a batch
    /// then touches a B-tree page per writer); otherwise the writers insert the baseline's rows
    /// (one namespace, `key-N` in sequence), so both figures write the same data.
    static func durableWrites(writers: Int, backend: SQLiteBackend, round: Int, keys: KeySequence, spread: Bool = false,
                              for window: Duration) async throws -> (operations: Int, seconds: Double) {
        let bus = MemoryBus(backend: backend, events: EventBus())
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + window
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for w in 0..<writers {
                group.addTask {
                    var n = 0
                    // The round keeps keys new in every window, so each write inserts a row like the baseline.
                    while clock.now < deadline {
                        if spread {
                            try await bus.set("writer-\(w)", "key-\(round)-\(n)", .number(Double(n)))
                        } else {
                            let k = keys.take()
                            try await bus.set("raw", "key-\(k)", .number(Double(k)))
                        }
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        return (total, seconds(clock.now - start))
    }

    private static func seconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }

    struct BenchError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
