import Foundation

/// The kernel journal in SQLite: every call returns once its transaction has committed (WAL,
/// `synchronous=FULL`, so fsynced), and concurrent calls share one commit (group commit through
/// `SQLiteDatabase`). Tables are prefixed `kernel_`, so the file can be shared with the memory backend.
public final class SQLiteKernelJournal: KernelJournal {
    public let database: SQLiteDatabase

    static let schema = """
        CREATE TABLE IF NOT EXISTS kernel_processes (id TEXT PRIMARY KEY, record TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS kernel_mailbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, process TEXT NOT NULL, message_id INTEGER NOT NULL,
            message TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS kernel_mailbox_process ON kernel_mailbox (process, message_id);
        CREATE TABLE IF NOT EXISTS kernel_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        """

    /// Opens or creates the journal database at `path`.
    public convenience init(path: String) throws {
        let db: SQLiteDatabase
        do { db = try SQLiteDatabase(path: path, schema: Self.schema) } catch {
            throw KernelError.journal("cannot open the kernel journal at \(path): \(error)")
        }
        try self.init(database: db)
    }

    /// Keeps the journal in an already open database (for example the memory backend's).
    public init(database: SQLiteDatabase) throws {
        self.database = database
        do { try database.writeBlocking { try $0.executeScript(Self.schema) } } catch {
            throw KernelError.journal("cannot create the kernel journal tables in \(database.path): \(error)")
        }
    }

    private static func json<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try KernelCoding.encoder().encode(value), as: UTF8.self)
    }

    public func processSaved(_ process: JournaledProcess) async throws {
        let record = try Self.json(process)
        let id = process.id
        try await database.write { db in
            try db.execute("INSERT OR REPLACE INTO kernel_processes (id, record) VALUES (?, ?)", [.text(id), .text(record)])
        }
    }

    public func processRemoved(_ id: String) async throws {
        try await database.write { db in
            try db.execute("DELETE FROM kernel_processes WHERE id = ?", [.text(id)])
            try db.execute("DELETE FROM kernel_mailbox WHERE process = ?", [.text(id)])
        }
    }

    public func messageAppended(_ message: BrokerMessage, process: String) async throws {
        let text = try Self.json(message)
        let id = Int64(bitPattern: message.id)
        try await database.write { db in
            try db.execute("INSERT INTO kernel_mailbox (process, message_id, message) VALUES (?, ?, ?)",
                           [.text(process), .integer(id), .text(text)])
        }
    }

    public func messageConsumed(_ messageID: UInt64, process: String) async throws {
        let id = Int64(bitPattern: messageID)
        try await database.write { db in
            // The oldest record of that id: ids restart with a new broker, so a recovered message and a
            // new one may share one; the recovered one is always older and delivered first.
            try db.execute("""
                DELETE FROM kernel_mailbox WHERE seq = (
                    SELECT seq FROM kernel_mailbox WHERE process = ? AND message_id = ? ORDER BY seq LIMIT 1)
                """, [.text(process), .integer(id)])
        }
    }

    public func idsReserved(upTo counter: UInt64) async throws {
        let value = Int64(bitPattern: counter)
        try await database.write { db in
            try db.execute("""
                INSERT INTO kernel_meta (key, value) VALUES ('reserved_ids', ?)
                ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)
                """, [.integer(value)])
        }
    }

    public func load() async throws -> JournalContents {
        let decoder = KernelCoding.decoder()
        return try database.read { db in
            var contents = JournalContents()
            let processes = try db.query("SELECT id, record FROM kernel_processes ORDER BY rowid") { ($0.text(0), $0.text(1)) }
            for (id, record) in processes {
                do {
                    contents.processes.append(try decoder.decode(JournaledProcess.self, from: Data(record.utf8)))
                } catch {
                    throw KernelError.journal("record of process \(id) in \(database.path) is unreadable: \(error)")
                }
            }
            let mail = try db.query("SELECT seq, process, message FROM kernel_mailbox ORDER BY seq") {
                ($0.int64(0), $0.text(1), $0.text(2))
            }
            for (seq, process, text) in mail {
                do {
                    contents.mailboxes[process, default: []].append(try decoder.decode(BrokerMessage.self, from: Data(text.utf8)))
                } catch {
                    throw KernelError.journal("mailbox record \(seq) of process \(process) in \(database.path) is unreadable: \(error)")
                }
            }
            let reserved = try db.queryFirst("SELECT value FROM kernel_meta WHERE key = 'reserved_ids'") { $0.int64(0) }
            contents.reservedIDs = UInt64(bitPattern: reserved ?? 0)
            return contents
        }
    }
}
