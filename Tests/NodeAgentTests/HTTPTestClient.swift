import Synchronization
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A raw HTTP/1.1 client over a blocking socket. Blocking I/O runs on its own thread so that the
/// server's handler Tasks (same process) never wait behind it on the cooperative pool.
final class RawHTTPConnection: @unchecked Sendable {
    let fd: Int32

    init(port: UInt16, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError.io("socket") }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw ClientError.io("connect errno \(errno)")
        }
    }

    func send(_ data: Data) throws {
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress.map { $0 + offset }, data.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard n > 0 else { throw ClientError.io("send errno \(errno)") }
            offset += n
        }
    }

    /// Reads once; empty at EOF.
    func receive() throws -> Data {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n >= 0 else { throw ClientError.io("recv errno \(errno)") }
        return Data(buffer[0..<n])
    }

    func closeNow() { close(fd) }

    enum ClientError: Error { case io(String), malformed(String) }
}

struct RawResponse: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data
    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json?["error"] as? [String: Any])?["message"] as? String }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// Runs blocking work on a fresh thread and awaits it.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
        Thread.detachNewThread {
            do { c.resume(returning: try work()) } catch { c.resume(throwing: error) }
        }
    }
}

/// One request with `Connection: close`; reads the whole response.
func rawRequest(port: UInt16, method: String, path: String, headers: [String: String] = [:],
                body: Data? = nil) async throws -> RawResponse {
    try await offPool {
        let conn = try RawHTTPConnection(port: port)
        defer { conn.closeNow() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var out = Data(head.utf8)
        if let body { out.append(body) }
        try conn.send(out)
        var all = Data()
        while true {
            let chunk = try conn.receive()
            if chunk.isEmpty { break }
            all.append(chunk)
        }
        return try parseResponse(all)
    }
}

func parseResponse(_ all: Data) throws -> RawResponse {
    guard let split = all.range(of: Data("\r\n\r\n".utf8)) else { throw RawHTTPConnection.ClientError.malformed("no header end") }
    let head = String(decoding: all[all.startIndex..<split.lowerBound], as: UTF8.self)
    var lines = head.components(separatedBy: "\r\n")
    let statusLine = lines.removeFirst().split(separator: " ")
    guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw RawHTTPConnection.ClientError.malformed(head) }
    var headers: [String: String] = [:]
    for line in lines {
        if let colon = line.firstIndex(of: ":") {
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }
    return RawResponse(status: status, headers: headers, body: Data(all[split.upperBound...]))
}

/// A thread-safe boolean for observing callbacks from tests.
final class TestFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
