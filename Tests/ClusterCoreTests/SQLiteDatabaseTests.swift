import CSQLite
import Foundation
import Testing
@testable import ClusterCore

@Suite("SQLiteDatabase")
struct SQLiteDatabaseTests {
    static let schema = "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB);"

    @Test func openSwitchesToWALAndFullSync() throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("a.db"), schema: Self.schema)
        defer { db.close() }
        let mode = try db.read { try $0.queryFirst("PRAGMA journal_mode") { $0.text(0) } }
        #expect(mode == "wal")
        let sync = try db.writeBlocking { try $0.queryFirst("PRAGMA synchronous") { $0.int64(0) } }
        #expect(sync == 2)  // FULL
    }

    @Test func typedBindAndColumnRoundTrip() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("a.db"), schema: Self.schema)
        defer { db.close() }
        let id = try await db.write { conn -> Int64 in
            try conn.execute("INSERT INTO items (name, score, data) VALUES (?1, ?2, ?3)", [.text("zé\u{0}x"), .real(1.5), .blob([0, 1, 2])])
            try conn.execute("INSERT INTO items (name, score, data) VALUES (?1, ?2, ?3)", [.text(""), .null, .blob([])])
            return conn.lastInsertRowID
        }
        #expect(id == 2)
        let rows = try db.read { try $0.rows("SELECT name, score, data FROM items ORDER BY id") }
        #expect(rows == [[.text("zé\u{0}x"), .real(1.5), .blob([0, 1, 2])], [.text(""), .null, .blob([])]])
    }

    @Test func committedWriteIsVisibleToAFreshConnectionWithoutClose() async throws {
        // The database is never closed: as after SIGKILL, only what reached the WAL file counts.
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let path = dir.path("crash.db")
        let db = try SQLiteDatabase(path: path, schema: Self.schema)
        try await db.write { try $0.execute("INSERT INTO items (name) VALUES ('survives')") }
        let fresh = try SQLiteConnection(path: path)
        let names = try fresh.query("SELECT name FROM items") { $0.text(0) }
        #expect(names == ["survives"])
        withExtendedLifetime(db) {}
    }

    @Test func committedWriteIsVisibleToAnotherProcess() async throws {
        let sqliteCLI = "/usr/bin/sqlite3"
        guard FileManager.default.isExecutableFile(atPath: sqliteCLI) else { return }  // CLI is optional
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let path = dir.path("proc.db")
        let db = try SQLiteDatabase(path: path, schema: Self.schema)
        defer { db.close() }
        try await db.write { try $0.execute("INSERT INTO items (name) VALUES ('from-writer')") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: sqliteCLI)
        p.arguments = [path, "SELECT name FROM items;"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "from-writer")
    }

    @Test func sixteenConcurrentWritersAreAllDurableAndShareCommits() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let path = dir.path("group.db")
        let db = try SQLiteDatabase(path: path, schema: Self.schema)
        defer { db.close() }

        // Hold the writer so the other 15 queue up behind it: they must then share one commit.
        let gate = SQLiteGate()
        let first = Task {
            try await db.write { conn in
                gate.wait()
                try conn.execute("INSERT INTO items (name) VALUES ('w0-0')")
            }
        }
        #expect(await sqliteWaitUntil { gate.hasEntered })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 1..<16 {
                group.addTask {
                    for i in 0..<20 {
                        try await db.write { try $0.execute("INSERT INTO items (name) VALUES (?1)", [.text("w\(w)-\(i)")]) }
                    }
                }
            }
            #expect(await sqliteWaitUntil { db.queuedWrites == 15 })
            gate.open()
            try await first.value
            try await group.waitForAll()
        }
        let count = try SQLiteConnection(path: path).queryFirst("SELECT COUNT(*) FROM items") { $0.int64(0) }
        #expect(count == Int64(1 + 15 * 20))
        let stats = db.writeStats
        #expect(stats.writes == UInt64(1 + 15 * 20))
        #expect(stats.largestBatch >= 15)
        #expect(stats.transactions < stats.writes)
        #expect(stats.replays == 0)  // nothing failed: no batch paid for savepoints
    }

    @Test func aFailingBodyFailsAloneInsideASharedTransaction() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("fail.db"), schema: Self.schema)
        defer { db.close() }
        let gate = SQLiteGate()
        let blocker = Task { try await db.write { _ in gate.wait() } }
        #expect(await sqliteWaitUntil { gate.hasEntered })

        let ok1 = Task { try await db.write { try $0.execute("INSERT INTO items (name) VALUES ('ok1')") } }
        #expect(await sqliteWaitUntil { db.queuedWrites == 1 })
        let bad = Task {
            try await db.write { conn in
                try conn.execute("INSERT INTO items (name) VALUES ('bad')")
                throw SQLiteTestFailure(description: "body refused")
            }
        }
        #expect(await sqliteWaitUntil { db.queuedWrites == 2 })
        let constraint = Task { try await db.write { try $0.execute("INSERT INTO items (id, name) VALUES (1, NULL)") } }
        #expect(await sqliteWaitUntil { db.queuedWrites == 3 })
        let ok2 = Task { try await db.write { try $0.execute("INSERT INTO items (name) VALUES ('ok2')") } }
        #expect(await sqliteWaitUntil { db.queuedWrites == 4 })
        let before = db.writeStats.transactions
        gate.open()
        try await blocker.value
        try await ok1.value
        try await ok2.value
        await #expect(throws: SQLiteTestFailure.self) { try await bad.value }
        do {
            try await constraint.value
            Issue.record("a NOT NULL violation must fail")
        } catch let e as SQLiteError {
            #expect(e.code & 0xff == SQLITE_CONSTRAINT)
            #expect(e.description.contains("INSERT INTO items"))
        }
        // The blocker's transaction, then one shared by the four: rolled back once and replayed.
        #expect(db.writeStats.transactions == before + 2)
        #expect(db.writeStats.replays == 1)
        let names = try db.read { try $0.query("SELECT name FROM items ORDER BY id") { $0.text(0) } }
        #expect(names == ["ok1", "ok2"])
    }

    @Test func writeBlockingWorksFromAPlainThread() throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("blocking.db"), schema: Self.schema)
        defer { db.close() }
        let done = DispatchSemaphore(value: 0)
        let result = SQLiteBox()
        Thread {
            let n = try? db.writeBlocking { conn -> Int64 in
                try conn.execute("INSERT INTO items (name) VALUES ('t')")
                return conn.lastInsertRowID
            }
            result.set(n)
            done.signal()
        }.start()
        done.wait()
        #expect(result.get() == 1)
        #expect(throws: SQLiteTestFailure.self) { try db.writeBlocking { _ in throw SQLiteTestFailure(description: "no") } }
    }

    @Test func closedDatabaseRejectsWritesAndReads() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("closed.db"), schema: Self.schema)
        try await db.write { try $0.execute("INSERT INTO items (name) VALUES ('kept')") }
        db.close()
        db.close()
        await #expect(throws: SQLiteError.self) { try await db.write { try $0.execute("INSERT INTO items (name) VALUES ('x')") } }
        #expect(throws: SQLiteError.self) { try db.read { _ in 1 } }
        let reopened = try SQLiteDatabase(path: dir.path("closed.db"), schema: Self.schema)
        defer { reopened.close() }
        #expect(try reopened.read { try $0.query("SELECT name FROM items") { $0.text(0) } } == ["kept"])
    }

    @Test func badPathAndBadSchemaGiveClearErrors() throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let missing = dir.path("no/such/dir/x.db")
        do {
            _ = try SQLiteDatabase(path: missing)
            Issue.record("opening under a missing directory must fail")
        } catch {
            #expect("\(error)".contains(missing))
        }
        do {
            _ = try SQLiteDatabase(path: dir.path("s.db"), schema: "CREATE TABLE broken (")
            Issue.record("a malformed schema must fail")
        } catch {
            #expect("\(error)".contains("CREATE TABLE broken"))
        }
    }

    @Test func writeBlockingInsideABodyThrowsInsteadOfDeadlocking() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("nested.db"), schema: Self.schema)
        defer { db.close() }
        let nestedFailed = try await db.write { conn -> Bool in
            try conn.execute("INSERT INTO items (name) VALUES ('outer')")
            do {
                _ = try db.writeBlocking { _ in 1 }
                return false
            } catch {
                return "\(error)".contains("inside a write body")
            }
        }
        #expect(nestedFailed)
        #expect(try db.read { try $0.query("SELECT name FROM items") { $0.text(0) } } == ["outer"])
    }
}
