import CSQLite

/// A failed SQLite call: the result code, SQLite's own message, and what we were doing.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The SQLite result code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT`, ...); -1 for errors of this layer.
    public let code: Int32
    /// SQLite's message for the error, or this layer's.
    public let message: String
    /// The SQL statement or operation, with the database file, that failed.
    public let context: String

    public init(code: Int32, message: String, context: String) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String { "SQLite error \(code) (\(message)) in \(context)" }

    /// The database was closed: no more writes or reads are accepted.
    public static func closed(_ path: String) -> SQLiteError {
        SQLiteError(code: -1, message: "database is closed", context: path)
    }

    static func from(_ handle: OpaquePointer?, code: Int32, context: String) -> SQLiteError {
        let message = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(code))
        return SQLiteError(code: code, message: message, context: context)
    }
}

/// `SQLITE_TRANSIENT` is a macro casting -1 to a function pointer, which Swift does not import:
/// it tells SQLite to copy bound text and blobs before the bind call returns.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
