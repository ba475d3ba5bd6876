import CSQLite
import ClusterCore
import Foundation
import Synchronization

/// Memory benchmarks: in-memory operations, the raw SQLite durable-insert baseline, and our durable
/// SQLite backend with 1 and 16 concurrent writers. Prints one `NAME VALUE` line per figure.
enum MemoryBench {
    /// How long each timed SQLite figure runs.
    static let sqliteWindow: Duration = .seconds(3)

    static func run() async throws {
        let ops = try await memoryOpsPerSecond()
        report("memory_ops_per_s", ops)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agentvm-bench-memory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        let raw = try rawInsertsPerSecond(path: dir.appendingPathComponent("raw.db").path)
        report("sqlite_raw_inserts_per_s", raw)
        let one = try await durableWritesPerSecond(writers: 1, path: dir.appendingPathComponent("durable1.db").path)
        report("sqlite_durable_writes_per_s_1", one.rate)
        let sixteen = try await durableWritesPerSecond(writers: 16, path: dir.appendingPathComponent("durable16.db").path)
        report("sqlite_durable_writes_per_s_16", sixteen.rate)
        print("sqlite_durable_ratio_16 \(String(format: "%.2f", raw > 0 ? sixteen.rate / raw : 0))")
        print("sqlite_durable_mean_batch_16 \(String(format: "%.2f", sixteen.meanBatch))")
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

    /// The baseline: raw SQLite through the C API, WAL, `synchronous=FULL`, one autocommit
    /// transaction (one fsync) per insert.
    static func rawInsertsPerSecond(path: String) throws -> Double {
        var db: OpaquePointer?
        guard sqlite3_open(path, &db) == SQLITE_OK, let db else { throw BenchError("cannot open \(path)") }
        defer { sqlite3_close(db) }
        for sql in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                    "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL) WITHOUT ROWID"] {
            guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw BenchError("\(sql): \(String(cString: sqlite3_errmsg(db)))") }
        }
        var stmt: OpaquePointer?
        let insert = "INSERT OR REPLACE INTO kv (key, value, updated_at) VALUES (?1, ?2, ?3)"
        guard sqlite3_prepare_v2(db, insert, -1, &stmt, nil) == SQLITE_OK, let stmt else { throw BenchError("prepare failed") }
        defer { sqlite3_finalize(stmt) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + sqliteWindow
        var n = 0
        while clock.now < deadline {
            sqlite3_reset(stmt)
            sqlite3_bind_text(stmt, 1, "key-\(n)", -1, transient)
            sqlite3_bind_text(stmt, 2, "\(n)", -1, transient)
            sqlite3_bind_double(stmt, 3, Date().timeIntervalSince1970)
            guard sqlite3_step(stmt) == SQLITE_DONE else { throw BenchError("insert: \(String(cString: sqlite3_errmsg(db)))") }
            n += 1
        }
        return Double(n) / seconds(clock.now - start)
    }

    /// `MemoryBus.set` on `SQLiteBackend` by `writers` concurrent tasks, each waiting for its write
    /// to be durable before the next.
    static func durableWritesPerSecond(writers: Int, path: String) async throws -> (rate: Double, meanBatch: Double) {
        let backend = try SQLiteBackend(path: path)
        defer { backend.close() }
        let bus = MemoryBus(backend: backend, events: EventBus())
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + sqliteWindow
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for w in 0..<writers {
                group.addTask {
                    var n = 0
                    while clock.now < deadline {
                        try await bus.set("writer-\(w)", "key-\(n)", .number(Double(n)))
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = clock.now - start
        let stats = backend.database.writeStats
        let meanBatch = stats.transactions > 0 ? Double(stats.writes) / Double(stats.transactions) : 0
        return (Double(total) / seconds(elapsed), meanBatch)
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
