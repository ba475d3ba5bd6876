import Foundation

/// One event from a `text/event-stream` body.
public struct ServerSentEvent: Sendable, Hashable {
    /// The `id:` field, when the server sent one.
    public var id: String?
    /// The `event:` field; "message" when absent, as the SSE spec says.
    public var event: String
    /// The `data:` lines joined with "\n".
    public var data: String

    /// An event as parsed (or to compare against in tests).
    public init(id: String? = nil, event: String = "message", data: String) {
        self.id = id
        self.event = event
        self.data = data
    }
}

/// Incremental parser for the Server-Sent Events wire format (WHATWG HTML, "Parsing an event
/// stream"): bytes arrive in arbitrary chunks; an event is dispatched at a blank line.
public struct ServerSentEventParser: Sendable {
    private var buffer: [UInt8] = []
    private var id: String?
    private var event: String?
    private var data: [String] = []
    private var sawCarriageReturn = false

    /// A parser at the start of a stream.
    public init() {}

    /// Feeds a chunk; returns the events completed by it, in order.
    public mutating func feed(_ chunk: some Sequence<UInt8>) -> [ServerSentEvent] {
        var out: [ServerSentEvent] = []
        for byte in chunk {
            // A line ends with CRLF, LF or CR; the LF of a CRLF must not end a second (empty) line.
            if byte == 0x0A, sawCarriageReturn {
                sawCarriageReturn = false
                continue
            }
            sawCarriageReturn = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                if let e = line(String(decoding: buffer, as: UTF8.self)) { out.append(e) }
                buffer.removeAll(keepingCapacity: true)
            } else {
                buffer.append(byte)
            }
        }
        return out
    }

    private mutating func line(_ line: String) -> ServerSentEvent? {
        if line.isEmpty {
            defer { event = nil; data = [] }
            guard !data.isEmpty else { return nil }
            return ServerSentEvent(id: id, event: event ?? "message", data: data.joined(separator: "\n"))
        }
        if line.hasPrefix(":") { return nil }
        var field = line
        var value = ""
        if let colon = line.firstIndex(of: ":") {
            field = String(line[..<colon])
            value = String(line[line.index(after: colon)...])
            if value.hasPrefix(" ") { value.removeFirst() }
        }
        switch field {
        case "data": data.append(value)
        case "event": event = value
        case "id": if !value.contains("\0") { id = value }
        default: break
        }
        return nil
    }
}
