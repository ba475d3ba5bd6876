import ClusterCore
import Foundation

/// The node's own SQLite file, `<data>/node.sqlite`: the kernel journal (processes, pending
/// mailbox messages, reserved ids), the newest checkpoint of each process, and channels created
/// through the API. Every write is durable when it returns (see `SQLiteDatabase`: WAL,
/// `synchronous=FULL`, group commit).
public final class NodeStore: Sendable {
    /// The database underneath.
    public let database: SQLiteDatabase

    static let schema = """
        CREATE TABLE IF NOT EXISTS processes (
            id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            record TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS mailbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            process TEXT NOT NULL,
            message_id INTEGER NOT NULL,
            record TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS mailbox_by_process ON mailbox (process, message_id);
        CREATE TABLE IF NOT EXISTS meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
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

    /// Opens or creates the store at `path`.
    public init(path: String) throws {
        database = try SQLiteDatabase(path: path, schema: Self.schema)
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

/// The kernel journal kept in the node's store.
public final class NodeJournal: KernelJournal {
    private let store: NodeStore

    /// A journal in `store`.
    public init(store: NodeStore) { self.store = store }

    public func processSaved(_ process: JournaledProcess) async throws {
        let record = try NodeStore.encode(process)
        try await store.database.write { conn in
            // `seq` keeps the first-saved order, so recovery brings processes back oldest first.
            try conn.execute("""
                INSERT INTO processes (id, seq, record) VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM processes), ?2)
                ON CONFLICT (id) DO UPDATE SET record = excluded.record
                """, [.text(process.id), .text(record)])
        }
    }

    public func processRemoved(_ id: String) async throws {
        try await store.database.write { conn in
            try conn.execute("DELETE FROM processes WHERE id = ?1", [.text(id)])
            try conn.execute("DELETE FROM mailbox WHERE process = ?1", [.text(id)])
        }
    }

    public func messageAppended(_ message: BrokerMessage, process: String) async throws {
        let record = try NodeStore.encode(message)
        try await store.database.write { conn in
            try conn.execute("INSERT INTO mailbox (process, message_id, record) VALUES (?1, ?2, ?3)",
                             [.text(process), .integer(Int64(bitPattern: message.id)), .text(record)])
        }
    }

    public func messageConsumed(_ messageID: UInt64, process: String) async throws {
        try await store.database.write { conn in
            try conn.execute("DELETE FROM mailbox WHERE process = ?1 AND message_id = ?2",
                             [.text(process), .integer(Int64(bitPattern: messageID))])
        }
    }

    public func idsReserved(upTo counter: UInt64) async throws {
        try await store.database.write { conn in
            try conn.execute("""
                INSERT INTO meta (key, value) VALUES ('reservedIDs', ?1)
                ON CONFLICT (key) DO UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))
                """, [.text(String(counter))])
        }
    }

    public func load() async throws -> JournalContents {
        try store.database.read { conn -> JournalContents in
            var contents = JournalContents()
            let processes = try conn.query("SELECT record FROM processes ORDER BY seq") { $0.text(0) }
            contents.processes = try processes.map { try NodeStore.decode(JournaledProcess.self, $0) }
            let mail = try conn.query("SELECT process, record FROM mailbox ORDER BY seq") { ($0.text(0), $0.text(1)) }
            for (process, record) in mail {
                contents.mailboxes[process, default: []].append(try NodeStore.decode(BrokerMessage.self, record))
            }
            let reserved = try conn.queryFirst("SELECT value FROM meta WHERE key = 'reservedIDs'") { $0.text(0) }
            contents.reservedIDs = reserved.flatMap { UInt64($0) } ?? 0
            return contents
        }
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
