import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Free TCP ports on loopback, for real servers started by tests.
public enum FreePort {
    /// Ports already handed out in this process, so parallel tests never get the same one.
    private static let handedOut = Mutex<Set<UInt16>>([])

    /// Asks the kernel for an unused port on 127.0.0.1 (bind to port 0, read it back, close),
    /// never the same one twice in this process. Another process could still take it before the
    /// caller binds; server fixtures retry with fresh ports when that happens.
    public static func next() throws -> UInt16 {
        for _ in 0..<100 {
            let p = try probe()
            if handedOut.withLock({ $0.insert(p).inserted }) { return p }
        }
        throw FixtureError.notReady("a free port")
    }

    private static func probe() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError.system("socket", errno) }
        defer { close(fd) }
        var addr = loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw FixtureError.system("bind", errno) }
        var out = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &out) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw FixtureError.system("getsockname", errno) }
        return UInt16(bigEndian: out.sin_port)
    }

    /// Several distinct free ports.
    public static func next(_ count: Int) throws -> [UInt16] {
        var ports: [UInt16] = []
        while ports.count < count {
            let p = try next()
            if !ports.contains(p) { ports.append(p) }
        }
        return ports
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
    public static func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = loopback(port: port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return rc == 0
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return addr
    }
}

/// Errors from test fixtures, naming the call or the process that failed.
public enum FixtureError: Error, CustomStringConvertible, Sendable {
    case system(String, Int32)
    case notReady(String)
    case exited(String, Int32)

    public var description: String {
        switch self {
        case .system(let call, let e): return "\(call) failed: \(String(cString: strerror(e)))"
        case .notReady(let what): return "\(what) did not become ready before the deadline"
        case .exited(let what, let status): return "\(what) exited early with status \(status)"
        }
    }
}
