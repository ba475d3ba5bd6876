import CSQLite

/// One SQLite connection with a cache of prepared statements.
///
/// Not thread-safe by design: `SQLiteDatabase` confines its writer connection to the writer thread
/// and its reader connection to a lock, and hands a connection to a body only for the body's
/// duration. Do not keep it past that, and do not run BEGIN/COMMIT/ROLLBACK in a write body: the
/// writer owns the transaction.
public final class SQLiteConnection {
    let handle: OpaquePointer
    /// The database file.
    public let path: String
    private var cache: [String: SQLiteStatement] = [:]
    /// The statements used last, most recent first. Bodies pass the same constant SQL strings, which
    /// compare equal by identity at once, so a hot statement is found without hashing its text.
    private var recent: [SQLiteStatement] = []
    private static let recentLimit = 4
    private var isOpen = true
    /// Statements kept prepared before the cache is emptied; bodies use a handful of fixed SQL texts.
    static let cacheLimit = 128

    /// Opens (creating if needed) the file at `path`. Threading is ours to serialize, so SQLite's
    /// per-connection mutex is off.
    public init(path: String, busyTimeout: Duration = .seconds(5)) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let error = SQLiteError.from(db, code: rc, context: "open \(path)")
            sqlite3_close_v2(db)
            throw error
        }
        self.handle = db
        self.path = path
        let ms = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(db, Int32(clamping: ms))
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Finalizes cached statements and closes the handle. Idempotent.
    func close() {
        guard isOpen else { return }
        isOpen = false
        recent.removeAll()
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// A prepared statement for `sql`, from the cache when possible, reset and with no bindings.
    public func prepare(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let i = recent.firstIndex(where: { $0.sql == sql }) {
            let s = recent[i]
            if i > 0 {
                recent.remove(at: i)
                recent.insert(s, at: 0)
            }
            s.reset()
            return s
        }
        let s: SQLiteStatement
        if let cached = cache[sql] {
            s = cached
            s.reset()
        } else {
            s = try SQLiteStatement(db: handle, sql: sql)
            if cache.count >= Self.cacheLimit {
                cache.removeAll()
                recent.removeAll()
            }
            cache[sql] = s
        }
        if recent.count >= Self.recentLimit { recent.removeLast() }
        recent.insert(s, at: 0)
        return s
    }

    /// Runs one statement with `values` bound, discarding any rows.
    public func execute(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) {
        let s = try prepare(sql)
        defer { s.reset() }
        try s.bind(values)
        while try s.step() {}
    }

    /// Runs a script of several `;`-separated statements (schema setup). Not cached.
    public func executeScript(_ sql: String) throws(SQLiteError) {
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        guard rc == SQLITE_OK else {
            let message = err.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(err)
            throw SQLiteError(code: rc, message: message, context: "\(path): \(sql)")
        }
    }

    /// Runs a query and maps each row; the statement is reset afterwards so no read stays open.
    public func query<T>(_ sql: String, _ values: [SQLiteValue] = [],
                         _ row: (SQLiteStatement) throws -> T) throws -> [T] {
        let s = try prepare(sql)
        defer { s.reset() }
        try s.bind(values)
        var out: [T] = []
        while try s.step() { out.append(try row(s)) }
        return out
    }

    /// The first row mapped, or nil when there is none.
    public func queryFirst<T>(_ sql: String, _ values: [SQLiteValue] = [],
                              _ row: (SQLiteStatement) throws -> T) throws -> T? {
        let s = try prepare(sql)
        defer { s.reset() }
        try s.bind(values)
        return try s.step() ? try row(s) : nil
    }

    /// Every row, each as its columns' values.
    public func rows(_ sql: String, _ values: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        try query(sql, values) { s in (0..<s.columnCount).map { s.value($0) } }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }
    /// Rowid of the last successful INSERT.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    /// True when no transaction is open (SQLite rolled back on its own, or none was begun).
    public var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }
}
