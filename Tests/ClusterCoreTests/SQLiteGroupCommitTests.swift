import CSQLite
import Foundation
import Synchronization
import Testing
@testable import ClusterCore

/// Group commit's promises when writes fail inside a shared batch, and under many writers.
@Suite("SQLite group commit")
struct SQLiteGroupCommitTests {
    static let schema = "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"

    @Test func aConstraintFailureInTheMiddleOfABatchFailsAloneAndTheOthersCommit() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("batch.db"), schema: Self.schema)
        defer { db.close() }
        try await db.write { try $0.execute("INSERT INTO items (name) VALUES ('taken')") }

        // Hold the writer so that the next eight writes queue up and run as one batch.
        let gate = SQLiteGate()
        let blocker = Task { try await db.write { _ in gate.wait() } }
        #expect(await sqliteWaitUntil { gate.hasEntered })
        var tasks: [Task<Int64, any Error>] = []
        for i in 0..<8 {
            let name = i == 4 ? "taken" : "n\(i)"  // the fifth breaks UNIQUE
            tasks.append(Task {
                try await db.write { conn -> Int64 in
                    try conn.execute("INSERT INTO items (name) VALUES (?1)", [.text(name)])
                    return conn.lastInsertRowID
                }
            })
            #expect(await sqliteWaitUntil { db.queuedWrites == i + 1 })  // keeps the batch in order
        }
        let before = db.writeStats
        gate.open()
        try await blocker.value

        var ids: [Int: Int64] = [:]
        for (i, task) in tasks.enumerated() {
            if i == 4 {
                do {
                    _ = try await task.value
                    Issue.record("the duplicate name must fail")
                } catch let e as SQLiteError {
                    #expect(e.code & 0xff == SQLITE_CONSTRAINT)
                }
            } else {
                ids[i] = try await task.value
            }
        }
        let after = db.writeStats
        // The eight run together: as a batch of their own, or gathered into the blocker's batch
        // once its body returns (bodies run while a batch gathers); either way one replay.
        let batches = after.batches - before.batches
        #expect(batches == 1 || batches == 2)
        #expect(after.replays == before.replays + 1)
        #expect(after.transactions - before.transactions == batches)
        // Every other write committed, and the id each caller got is its own row's.
        let rows = try db.read { try $0.query("SELECT id, name FROM items") { ($0.int64(0), $0.text(1)) } }
        let byID = Dictionary(uniqueKeysWithValues: rows)
        #expect(rows.count == 8)
        for (i, id) in ids { #expect(byID[id] == "n\(i)") }
        // And they are durable: a fresh connection, the writer never closed, sees them.
        let fresh = try SQLiteConnection(path: dir.path("batch.db"))
        #expect(try fresh.queryFirst("SELECT COUNT(*) FROM items") { $0.int64(0) } == 8)
    }

    @Test func aBodyThatFailsAfterWritingLeavesNothingBehind() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("partial.db"), schema: Self.schema)
        defer { db.close() }
        let gate = SQLiteGate()
        let blocker = Task { try await db.write { _ in gate.wait() } }
        #expect(await sqliteWaitUntil { gate.hasEntered })
        let first = Task { try await db.write { try $0.execute("INSERT INTO items (name) VALUES ('first')") } }
        #expect(await sqliteWaitUntil { db.queuedWrites == 1 })
        let half = Task {
            try await db.write { conn in
                try conn.execute("INSERT INTO items (name) VALUES ('half-1')")
                try conn.execute("INSERT INTO items (name) VALUES ('first')")  // fails after one insert
            }
        }
        #expect(await sqliteWaitUntil { db.queuedWrites == 2 })
        let last = Task { try await db.write { try $0.execute("INSERT INTO items (name) VALUES ('last')") } }
        #expect(await sqliteWaitUntil { db.queuedWrites == 3 })
        gate.open()
        try await blocker.value
        try await first.value
        try await last.value
        await #expect(throws: SQLiteError.self) { try await half.value }
        let names = try db.read { try $0.query("SELECT name FROM items ORDER BY id") { $0.text(0) } }
        #expect(names == ["first", "last"])
    }

    @Test func manyConcurrentWritersEachGetTheirOwnResult() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("many.db"), schema: Self.schema)
        defer { db.close() }
        struct Refused: Error, Equatable { let name: String }
        let writers = 48, perWriter = 25
        // Every seventh write of a writer throws with its own name, so failures and replays happen
        // inside shared batches; every other write returns the rowid of its own insert.
        let outcomes = try await withThrowingTaskGroup(of: [(String, Result<Int64, Refused>)].self) { group in
            for w in 0..<writers {
                group.addTask {
                    var mine: [(String, Result<Int64, Refused>)] = []
                    for i in 0..<perWriter {
                        let name = "w\(w)-\(i)"
                        do {
                            let id = try await db.write { conn -> Int64 in
                                try conn.execute("INSERT INTO items (name) VALUES (?1)", [.text(name)])
                                if i % 7 == 3 { throw Refused(name: name) }
                                return conn.lastInsertRowID
                            }
                            mine.append((name, .success(id)))
                        } catch let e as Refused {
                            mine.append((name, .failure(e)))
                        }
                    }
                    return mine
                }
            }
            var all: [(String, Result<Int64, Refused>)] = []
            for try await part in group { all += part }
            return all
        }
        #expect(outcomes.count == writers * perWriter)
        let rows = try db.read { try $0.query("SELECT id, name FROM items") { ($0.int64(0), $0.text(1)) } }
        let nameByID = Dictionary(uniqueKeysWithValues: rows)
        var committed = 0
        for (name, outcome) in outcomes {
            switch outcome {
            case .success(let id):
                #expect(nameByID[id] == name, "write \(name) got the rowid of \(nameByID[id] ?? "nothing")")
                committed += 1
            case .failure(let refused):
                #expect(refused.name == name, "write \(name) got the error of \(refused.name)")
                #expect(!nameByID.values.contains(name))
            }
        }
        #expect(rows.count == committed)
        #expect(committed == writers * (perWriter - (perWriter + 3) / 7))
        let stats = db.writeStats
        #expect(stats.writes == UInt64(writers * perWriter))
        #expect(stats.transactions <= stats.writes)
    }

    @Test func blockingAndAsyncWritersShareBatches() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let db = try SQLiteDatabase(path: dir.path("mixed.db"), schema: Self.schema)
        defer { db.close() }
        let threadsDone = DispatchSemaphore(value: 0)
        let threadResults = SQLiteResults()
        for t in 0..<4 {
            Thread {
                for i in 0..<20 {
                    let name = "t\(t)-\(i)"
                    let id = try? db.writeBlocking { conn -> Int64 in
                        try conn.execute("INSERT INTO items (name) VALUES (?1)", [.text(name)])
                        return conn.lastInsertRowID
                    }
                    threadResults.add(name, id)
                }
                threadsDone.signal()
            }.start()
        }
        let taskResults = try await withThrowingTaskGroup(of: [(String, Int64)].self) { group in
            for w in 0..<8 {
                group.addTask {
                    var mine: [(String, Int64)] = []
                    for i in 0..<20 {
                        let name = "a\(w)-\(i)"
                        mine.append((name, try await db.write { conn -> Int64 in
                            try conn.execute("INSERT INTO items (name) VALUES (?1)", [.text(name)])
                            return conn.lastInsertRowID
                        }))
                    }
                    return mine
                }
            }
            var all: [(String, Int64)] = []
            for try await part in group { all += part }
            return all
        }
        for _ in 0..<4 { await Task.detached { threadsDone.wait() }.value }
        let rows = try db.read { try $0.query("SELECT id, name FROM items") { ($0.int64(0), $0.text(1)) } }
        let nameByID = Dictionary(uniqueKeysWithValues: rows)
        #expect(rows.count == 240)  // 4 threads and 8 tasks, 20 writes each
        for (name, id) in taskResults { #expect(nameByID[id] == name) }
        let fromThreads = threadResults.all()
        #expect(fromThreads.count == 80)
        for (name, id) in fromThreads { #expect(id.flatMap { nameByID[$0] } == name) }
    }
}

/// Results handed from plain threads.
final class SQLiteResults: Sendable {
    private let items = Mutex<[(String, Int64?)]>([])
    func add(_ name: String, _ id: Int64?) { items.withLock { $0.append((name, id)) } }
    func all() -> [(String, Int64?)] { items.withLock { $0 } }
}
