import Foundation

/// Memory in a SQLite file: durable when a write returns (WAL, `synchronous=FULL`), with concurrent
/// writes sharing one transaction and one fsync (group commit, see `SQLiteDatabase`).
public final class SQLiteBackend: MemoryBackend {
    /// The database underneath; other components may share it for their own tables.
    public let database: SQLiteDatabase

    /// The `memory` table; public so a benchmark baseline can write the very same rows.
    public static let schema = """
        CREATE TABLE IF NOT EXISTS memory (
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            expires_at REAL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (namespace, key)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS memory_expiry ON memory (expires_at) WHERE expires_at IS NOT NULL;
        """

    private static let selectOne = "SELECT value, expires_at, updated_at FROM memory WHERE namespace = ?1 AND key = ?2"
    /// Stores one row: parameters namespace, key, value (JSON text), expires_at, updated_at.
    public static let upsert = """
        INSERT INTO memory (namespace, key, value, expires_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
        updated_at = excluded.updated_at
        """
    private static let deleteOne = "DELETE FROM memory WHERE namespace = ?1 AND key = ?2"

    /// Opens or creates the memory database at `path`.
    public init(path: String) throws {
        do {
            self.database = try SQLiteDatabase(path: path, schema: Self.schema)
        } catch {
            throw MemoryError.backend("cannot open \(path): \(error)")
        }
    }

    /// Keeps memory in an already open database (one file for the node's memory and its journal):
    /// creates the `memory` table there if missing.
    public init(database: SQLiteDatabase) throws {
        self.database = database
        do {
            try database.writeBlocking { try $0.executeScript(Self.schema) }
        } catch {
            throw MemoryError.backend("cannot create the memory table in \(database.path): \(error)")
        }
    }

    /// Commits queued writes and closes the file; later calls throw.
    public func close() { database.close() }

    public func entry(_ namespace: String, _ key: String) throws -> MemoryEntry? {
        try wrap { try database.read { try Self.load($0, namespace, key) } }
    }

    public func records(_ namespace: String, prefix: String) throws -> [MemoryRecord] {
        // BINARY collation compares UTF-8 bytes, so `key >= prefix` starts at the first match and
        // the matches are contiguous from there.
        try wrap {
            try database.read { conn -> [MemoryRecord] in
                let s = try conn.prepare("SELECT key, value, expires_at, updated_at FROM memory WHERE namespace = ?1 AND key >= ?2 ORDER BY key")
                defer { s.reset() }
                try s.bind([.text(namespace), .text(prefix)])
                var out: [MemoryRecord] = []
                while try s.step() {
                    let key = s.text(0)
                    guard key.utf8.starts(with: prefix.utf8) else { break }
                    out.append(MemoryRecord(key: key, entry: try Self.decode(s, from: 1, key: key)))
                }
                return out
            }
        }
    }

    public func namespaces() throws -> [String] {
        try wrap { try database.read { try $0.query("SELECT DISTINCT namespace FROM memory ORDER BY namespace") { $0.text(0) } } }
    }

    public func counts() throws -> (namespaces: Int, keys: Int) {
        try wrap {
            try database.read { conn in
                try conn.queryFirst("SELECT COUNT(DISTINCT namespace), COUNT(*) FROM memory") { (Int($0.int64(0)), Int($0.int64(1))) }
                    ?? (0, 0)
            }
        }
    }

    public func store(_ namespace: String, _ key: String, _ entry: MemoryEntry) async throws {
        let row = Self.row(namespace, key, entry)
        try await write { conn in try conn.execute(Self.upsert, row) }
    }

    public func remove(_ namespace: String, _ key: String) async throws -> MemoryEntry? {
        try await write { conn -> MemoryEntry? in
            guard let old = try Self.load(conn, namespace, key) else { return nil }
            try conn.execute(Self.deleteOne, [.text(namespace), .text(key)])
            return old
        }
    }

    public func update<R: Sendable>(
        _ namespace: String, _ key: String,
        _ decide: @escaping @Sendable (MemoryEntry?) throws -> (MemoryChange, R)
    ) async throws -> R {
        // The body runs on the single writer thread, so read-decide-write is atomic.
        try await write { conn -> R in
            let (change, result) = try decide(try Self.load(conn, namespace, key))
            switch change {
            case .keep: break
            case .store(let e): try conn.execute(Self.upsert, Self.row(namespace, key, e))
            case .remove: try conn.execute(Self.deleteOne, [.text(namespace), .text(key)])
            }
            return result
        }
    }

    public func removeAll(_ namespace: String) async throws -> Int {
        try await write { conn -> Int in
            try conn.execute("DELETE FROM memory WHERE namespace = ?1", [.text(namespace)])
            return conn.changes
        }
    }

    public func replace(_ namespace: String, with records: [MemoryRecord]) async throws {
        let rows = records.map { Self.row(namespace, $0.key, $0.entry) }
        try await write { conn in
            try conn.execute("DELETE FROM memory WHERE namespace = ?1", [.text(namespace)])
            for row in rows { try conn.execute(Self.upsert, row) }
        }
    }

    public func removeExpired(now: Date) async throws -> [MemoryKey] {
        let t = now.timeIntervalSince1970
        return try await write { conn -> [MemoryKey] in
            let keys = try conn.query("SELECT namespace, key FROM memory WHERE expires_at IS NOT NULL AND expires_at <= ?1", [.real(t)]) {
                MemoryKey(namespace: $0.text(0), key: $0.text(1))
            }
            if !keys.isEmpty {
                try conn.execute("DELETE FROM memory WHERE expires_at IS NOT NULL AND expires_at <= ?1", [.real(t)])
            }
            return keys
        }
    }

    // MARK: - Encoding

    private func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        do {
            return try await database.write(body)
        } catch {
            throw memoryError(error)
        }
    }

    private func write(_ body: @escaping @Sendable (SQLiteConnection) throws -> Void) async throws {
        do {
            try await database.write(body)
        } catch {
            throw memoryError(error)
        }
    }

    /// A body's own `MemoryError` as it is; a SQLite failure as a backend error naming the file.
    private func memoryError(_ error: any Error) -> any Error {
        switch error {
        case let e as MemoryError: return e
        case let e as SQLiteError where e.code == -1 && e.message == "database is closed": return MemoryError.closed
        case let e as SQLiteError: return MemoryError.backend("\(database.path): \(e)")
        default: return error
        }
    }

    private func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as MemoryError {
            throw e
        } catch let e as SQLiteError where e.code == -1 && e.message == "database is closed" {
            throw MemoryError.closed
        } catch {
            throw MemoryError.backend("\(database.path): \(error)")
        }
    }

    /// The upsert's parameters, built as one array (the write path allocates as little as it can).
    private static func row(_ namespace: String, _ key: String, _ e: MemoryEntry) -> [SQLiteValue] {
        [.text(namespace), .text(key), .text(e.value.jsonString), .date(e.expiresAt), .real(e.updatedAt.timeIntervalSince1970)]
    }

    private static func load(_ conn: SQLiteConnection, _ namespace: String, _ key: String) throws -> MemoryEntry? {
        let s = try conn.prepare(selectOne)
        defer { s.reset() }
        try s.bind([.text(namespace), .text(key)])
        guard try s.step() else { return nil }
        return try decode(s, from: 0, key: key)
    }

    /// Decodes value, expires_at, updated_at starting at `column`. A row that is not valid JSON
    /// (edited by hand, say) is reported with its key rather than crashing.
    private static func decode(_ s: SQLiteStatement, from column: Int32, key: String) throws -> MemoryEntry {
        let text = s.text(column)
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch {
            throw MemoryError.backend("stored value of key '\(key)' is not valid JSON: \(error)")
        }
        return MemoryEntry(
            value: value,
            expiresAt: s.optionalDouble(column + 1).map { Date(timeIntervalSince1970: $0) },
            updatedAt: Date(timeIntervalSince1970: s.double(column + 2)))
    }
}
