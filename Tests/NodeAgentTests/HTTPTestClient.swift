import Synchronization
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A raw HTTP/1.1 client over a blocking socket. Blocking I/O runs on its own thread so that the
/// server's handler Tasks (same process) never wait behind it on the cooperative pool.
final class RawHTTPConnection: @unchecked Sendable {
    let fd: Int32

    init(port: UInt16, timeoutSeconds: Int = 30) throws {
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

/// Sequential requests over one keep-alive connection; responses are delimited by Content-Length.
/// Blocking: use it inside `offPool`.
final class KeepAliveClient {
    let connection: RawHTTPConnection
    private var buffer = Data()

    init(port: UInt16) throws { connection = try RawHTTPConnection(port: port) }

    func close() { connection.closeNow() }

    /// Sends one request and reads exactly one response; throws on EOF before it is complete.
    func request(_ method: String, _ path: String, body: Data? = nil) throws -> RawResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var out = Data(head.utf8)
        if let body { out.append(body) }
        try connection.send(out)
        return try readResponse()
    }

    /// Reads one complete response (headers + Content-Length body) from the connection.
    func readResponse() throws -> RawResponse {
        let separator = Data("\r\n\r\n".utf8)
        while true {
            if let split = buffer.range(of: separator) {
                let head = try parseResponse(Data(buffer[buffer.startIndex..<split.upperBound]))
                let length = Int(head.headers["content-length"] ?? "0") ?? 0
                let total = split.upperBound - buffer.startIndex + length
                if buffer.count >= total {
                    let body = Data(buffer[split.upperBound..<(split.upperBound + length)])
                    buffer = Data(buffer.dropFirst(total))
                    return RawResponse(status: head.status, headers: head.headers, body: body)
                }
            }
            let chunk = try connection.receive()
            if chunk.isEmpty { throw RawHTTPConnection.ClientError.io("EOF before a complete response") }
            buffer.append(chunk)
        }
    }
}

/// A gate a test opens; handlers wait on it by polling with a short sleep (cancellable).
final class TestGate: Sendable {
    private let open = Mutex(false)
    func release() { open.withLock { $0 = true } }
    var isOpen: Bool { open.withLock { $0 } }
    /// Waits until released or the task is cancelled.
    func wait() async throws {
        while !isOpen {
            try Task.checkCancellation()
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// A thread-safe counter for observing handlers from tests.
final class TestCounter: Sendable {
    private let value = Mutex(0)
    func add() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}

/// The payload of a chunked body (everything after the header block); stops at the last chunk or
/// at the first incomplete one.
func dechunk(_ body: Data) -> Data {
    var out = Data()
    var rest = body[...]
    let crlf = Data("\r\n".utf8)
    while let line = rest.range(of: crlf) {
        let sizeText = String(decoding: rest[rest.startIndex..<line.lowerBound], as: UTF8.self)
        guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
        let start = line.upperBound
        guard rest.distance(from: start, to: rest.endIndex) >= size + 2 else { break }
        let end = rest.index(start, offsetBy: size)
        out.append(contentsOf: rest[start..<end])
        rest = rest[rest.index(end, offsetBy: 2)...]
    }
    return out
}
