import Foundation
import Testing
@testable import ClusterCore

/// The background checkpointer: checkpoints leave the writers' batches, the WAL stops growing, and
/// nothing written is lost through checkpoints and a reopen.
@Suite("SQLite checkpointer")
struct SQLiteCheckpointerTests {
    static let schema = "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data BLOB);"

    @Test func checkpointsRunInTheBackgroundAndTheWALStopsGrowing() async throws {
        let dir = try SQLiteTempDir()
        defer { dir.cleanup() }
        let path = dir.path("ckpt.db")
        let db = try SQLiteDatabase(path: path, schema: Self.schema)
        // 800 writes of 64 KiB from 8 writers: ~13,000 WAL frames, many times the threshold.
        let blob = [UInt8](repeating: 7, count: 64 * 1024)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<8 {
                group.addTask {
                    for i in 0..<100 {
                        try await db.write {
                            try $0.execute("INSERT INTO items (name, data) VALUES (?1, ?2)", [.text("w\(w)-\(i)"), .blob(blob)])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let stats = db.writeStats
        #expect(stats.backgroundCheckpoints >= 1)
        #expect(stats.failedCheckpoints == 0)
        let walBytes = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        // The writer checkpoints inline past 8 × the threshold; a batch may add up to 8 writes more.
        let bound = Int(SQLiteCheckpointer.defaultThreshold) * 8 * 4_200 + 8 * 17 * 4_200
        #expect(walBytes < bound, "the WAL grew to \(walBytes) bytes after 52 MB of writes")
        db.close()

        let reopened = try SQLiteDatabase(path: path, schema: Self.schema)
        defer { reopened.close() }
        let (count, bytes) = try reopened.read {
            try $0.queryFirst("SELECT COUNT(*), SUM(length(data)) FROM items") { ($0.int64(0), $0.int64(1)) }
        } ?? (0, 0)
        #expect(count == 800)
        #expect(bytes == 800 * 64 * 1024)
    }
}
