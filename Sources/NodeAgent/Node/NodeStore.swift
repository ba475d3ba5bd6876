import ClusterCore
import Foundation

/// The node's own SQLite file, `<data>/node.sqlite`: the kernel journal (`SQLiteKernelJournal`'s
/// `kernel_*` tables: processes, pending mailbox messages, reserved ids), the newest checkpoint of
/// each process, and channels created through the API. Every write is durable when it returns
/// (see `SQLiteDatabase`: WAL, `synchronous=FULL`, group commit).
public final class NodeStore: Sendable {
    /// The database underneath.
    public let database: SQLiteDatabase

    static let schema = """
        CREATE TABLE IF NOT EXISTS checkpoints (
            process TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            taken_at REAL NOT NULL,
            data BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS channels (
            name TEXT PRIMARY KEY,
            record TEXT NOT NULL
        );
        """

    /// The kernel journal, in the same file.
    public let journal: SQLiteKernelJournal

    /// Opens or creates the store at `path`.
    public init(path: String) throws {
        database = try SQLiteDatabase(path: path, schema: Self.schema)
        journal = try SQLiteKernelJournal(database: database)
    }

    /// Commits queued writes and closes the file.
    public func close() { database.close() }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    // MARK: Channels created at runtime

    /// Records a channel created through the API, so it exists again after a restart.
    public func saveChannel(_ config: ChannelConfig) async throws {
        let record = try Self.encode(config)
        try await database.write { conn in
            try conn.execute("INSERT OR REPLACE INTO channels (name, record) VALUES (?1, ?2)",
                             [.text(config.name), .text(record)])
        }
    }

    /// Channels recorded by `saveChannel`; unreadable records are skipped.
    public func channels() throws -> [ChannelConfig] {
        let rows = try database.read { conn in try conn.query("SELECT record FROM channels ORDER BY name") { $0.text(0) } }
        return rows.compactMap { try? Self.decode(ChannelConfig.self, $0) }
    }
}

/// The newest checkpoint of each process, in the node's store: crash checkpoints taken by the
/// kernel, manual ones, and the shutdown checkpoints of a graceful stop.
public final class NodeCheckpointStore: CheckpointStore {
    private let store: NodeStore

    /// Checkpoints in `store`.
    public init(store: NodeStore) { self.store = store }

    public func save(_ checkpoint: Data, process: String, reason: CheckpointReason) async throws {
        let bytes = [UInt8](checkpoint)
        let now = Date().timeIntervalSince1970
        try await store.database.write { conn in
            try conn.execute("INSERT OR REPLACE INTO checkpoints (process, reason, taken_at, data) VALUES (?1, ?2, ?3, ?4)",
                             [.text(process), .text(reason.rawValue), .real(now), .blob(bytes)])
        }
    }

    public func latest(process: String) async throws -> Data? {
        try store.database.read { conn in
            try conn.queryFirst("SELECT data FROM checkpoints WHERE process = ?1", [.text(process)]) { Data($0.blob(0)) }
        }
    }

    /// How many processes have a stored checkpoint, by reason.
    public func counts() throws -> [String: Int] {
        let rows = try store.database.read { conn in
            try conn.query("SELECT reason, COUNT(*) FROM checkpoints GROUP BY reason") { ($0.text(0), Int($0.int64(1))) }
        }
        return Dictionary(rows, uniquingKeysWith: +)
    }
}
