import ClusterCore
import CRDT
import Foundation

/// The replica's durable copy: one row per replicated key in table `replicated_memory` of the
/// node's database, holding the key's CRDT state in its deterministic encoding. Written through
/// the database's group commit, so a save that returned survives SIGKILL.
struct ReplicationStore: Sendable {
    let database: SQLiteDatabase

    static let schema = """
        CREATE TABLE IF NOT EXISTS replicated_memory (
            key TEXT PRIMARY KEY,
            state BLOB NOT NULL
        );
        """

    /// Creates the table if needed.
    init(database: SQLiteDatabase) async throws {
        self.database = database
        try await database.write { conn in try conn.executeScript(Self.schema) }
    }

    /// Every persisted key's state. A row that does not decode is skipped and reported by key, so
    /// one damaged row cannot stop a node from starting (anti-entropy fetches the key again).
    func load() throws -> (values: [String: ReplicatedValue<JSONValue>], damaged: [String: String], sizes: [String: Int]) {
        let rows = try database.read { conn in
            try conn.query("SELECT key, state FROM replicated_memory") { s in (s.text(0), Data(s.blob(1))) }
        }
        var values: [String: ReplicatedValue<JSONValue>] = [:]
        var damaged: [String: String] = [:]
        var sizes: [String: Int] = [:]
        for (key, bytes) in rows {
            sizes[key] = bytes.count
            do { values[key] = try CRDTCoding.decode(ReplicatedValue<JSONValue>.self, from: bytes) } catch {
                damaged[key] = "\(error)"
            }
        }
        return (values, damaged, sizes)
    }

    /// Writes (or, for nil, deletes) the rows in one transaction; returns once committed.
    func save(_ rows: [(String, Data?)]) async throws {
        guard !rows.isEmpty else { return }
        let batch = rows.map { SavedRow(key: $0.0, state: $0.1) }
        try await database.write { conn in
            for row in batch {
                if let state = row.state {
                    try conn.execute("INSERT INTO replicated_memory (key, state) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state",
                                     [.text(row.key), .blob([UInt8](state))])
                } else {
                    try conn.execute("DELETE FROM replicated_memory WHERE key = ?", [.text(row.key)])
                }
            }
        }
    }

    private struct SavedRow: Sendable {
        let key: String
        let state: Data?
    }
}
