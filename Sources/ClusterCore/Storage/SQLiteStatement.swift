import CSQLite

/// A prepared statement: bind parameters (1-based), step, read columns (0-based).
///
/// Statements come from `SQLiteConnection.prepare`, which caches them; they belong to that
/// connection and share its thread confinement.
public final class SQLiteStatement {
    let handle: OpaquePointer
    /// The SQL text this statement was prepared from.
    public let sql: String
    private let db: OpaquePointer

    init(db: OpaquePointer, sql: String) throws(SQLiteError) {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            sqlite3_finalize(stmt)
            throw SQLiteError.from(db, code: rc, context: "prepare \(sql)")
        }
        self.handle = stmt
        self.sql = sql
        self.db = db
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds `values` to parameters 1...n.
    public func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        for (i, v) in values.enumerated() { try bind(v, at: Int32(i + 1)) }
    }

    /// Binds one value to the parameter at 1-based `index`.
    public func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .integer(let i): rc = sqlite3_bind_int64(handle, index, i)
        case .real(let d): rc = sqlite3_bind_double(handle, index, d)
        case .text(let s): rc = bindText(s, at: index)
        case .blob(let b):
            rc = b.withUnsafeBytes { p in
                // A nil base address would bind NULL; an empty blob must stay an empty blob.
                sqlite3_bind_blob(handle, index, p.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(p.count), sqliteTransient)
            }
        }
        guard rc == SQLITE_OK else { throw SQLiteError.from(db, code: rc, context: "bind parameter \(index) of \(sql)") }
    }

    private func bindText(_ s: String, at index: Int32) -> Int32 {
        var s = s
        return s.withUTF8 { p in
            guard let base = p.baseAddress else { return sqlite3_bind_text(handle, index, "", 0, sqliteTransient) }
            return base.withMemoryRebound(to: CChar.self, capacity: p.count) {
                sqlite3_bind_text(handle, index, $0, Int32(p.count), sqliteTransient)
            }
        }
    }

    /// Advances: true when a row is ready, false when the statement is done.
    public func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError.from(db, code: rc, context: sql)
        }
    }

    /// Resets the statement and clears its bindings, ending any read it holds open.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    public var columnCount: Int32 { sqlite3_column_count(handle) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
    /// The column as text ("" for NULL).
    public func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(handle, column) else { return "" }
        let n = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }
    /// The column as bytes (empty for NULL).
    public func blob(_ column: Int32) -> [UInt8] {
        guard let p = sqlite3_column_blob(handle, column) else { return [] }
        let n = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
    /// The column as a double, or nil when NULL.
    public func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }

    /// The column in its own storage class.
    public func value(_ column: Int32) -> SQLiteValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(int64(column))
        case SQLITE_FLOAT: return .real(double(column))
        case SQLITE_TEXT: return .text(text(column))
        case SQLITE_BLOB: return .blob(blob(column))
        default: return .null
        }
    }
}
