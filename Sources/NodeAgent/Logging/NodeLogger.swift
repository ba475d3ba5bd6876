import Foundation
import Synchronization

/// Structured logs: one JSON object per line on stderr (`ts`, `level`, `msg`, then fields).
/// Lines are written whole with one `write(2)` so concurrent loggers never interleave.
public final class NodeLogger: Sendable {
    /// Severity, lowest first.
    public enum Level: String, Sendable, Comparable, CaseIterable {
        case debug, info, warn, error
        var rank: Int {
            switch self { case .debug: 0; case .info: 1; case .warn: 2; case .error: 3 }
        }
        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
    }

    private let minimum: Level
    private let fd: Int32
    private let fields: [String: JSONValue]

    /// A logger writing to `fd` (stderr by default) at `level` and above, with fields on every line.
    public init(level: Level = .info, fd: Int32 = 2, fields: [String: JSONValue] = [:]) {
        self.minimum = level
        self.fd = fd
        self.fields = fields
    }

    /// A logger with extra fields on every line (e.g. `process`).
    public func with(_ extra: [String: JSONValue]) -> NodeLogger {
        NodeLogger(level: minimum, fd: fd, fields: fields.merging(extra) { _, new in new })
    }

    public func debug(_ msg: @autoclosure () -> String, _ f: [String: JSONValue] = [:]) { log(.debug, msg(), f) }
    public func info(_ msg: @autoclosure () -> String, _ f: [String: JSONValue] = [:]) { log(.info, msg(), f) }
    public func warn(_ msg: @autoclosure () -> String, _ f: [String: JSONValue] = [:]) { log(.warn, msg(), f) }
    public func error(_ msg: @autoclosure () -> String, _ f: [String: JSONValue] = [:]) { log(.error, msg(), f) }

    /// Writes one line if `level` is enabled.
    public func log(_ level: Level, _ msg: @autoclosure () -> String, _ f: [String: JSONValue] = [:]) {
        guard level >= minimum else { return }
        var obj = fields.merging(f) { _, new in new }
        obj["ts"] = .string(KernelEvent.formatTimestamp(Date()))
        obj["level"] = .string(level.rawValue)
        obj["msg"] = .string(msg())
        var line = JSONValue.object(obj).encoded()
        line.append(0x0A)
        line.withUnsafeBytes { buf in
            guard let base = buf.baseAddress else { return }
            var off = 0
            while off < buf.count {
                let n = write(fd, base + off, buf.count - off)
                if n <= 0 { return }
                off += n
            }
        }
    }
}
