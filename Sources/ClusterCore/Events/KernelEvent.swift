import Foundation

/// A structured kernel event: every lifecycle step, execution, tool call, message, memory change and
/// contract breach produces one. Type names are dotted, e.g. `process.spawned`, `memory.set`.
public struct KernelEvent: Sendable, Hashable, Codable {
    /// Unique within one node's run, increasing.
    public var id: UInt64
    /// Dotted event type, e.g. `process.crashed`.
    public var type: String
    /// What produced it: a process id, an agent name, `kernel`, `broker`, `memory`, `tools`…
    public var source: String
    /// When it happened.
    public var timestamp: Date
    /// Event-specific details.
    public var data: JSONValue

    public init(id: UInt64, type: String, source: String, timestamp: Date, data: JSONValue) {
        self.id = id
        self.type = type
        self.source = source
        self.timestamp = timestamp
        self.data = data
    }

    /// The event as a JSON object (`timestamp` in ISO 8601 with milliseconds).
    public var json: JSONValue {
        .object([
            "id": .number(Double(id)), "type": .string(type), "source": .string(source),
            "timestamp": .string(KernelEvent.formatTimestamp(timestamp)), "data": data,
        ])
    }

    /// ISO 8601 with fractional seconds, UTC.
    public static func formatTimestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
