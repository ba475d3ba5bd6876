import Foundation

/// A process, dehydrated: a versioned, self-describing JSON document (format `agentvm.checkpoint`,
/// version 1) holding metadata, lifecycle state, the agent definition, the memory namespace with its
/// TTLs, the pending mailbox, counters and subscriptions. Dates are ISO 8601 with milliseconds.
public struct Checkpoint: Sendable, Codable, Hashable {
    /// The `format` every checkpoint carries.
    public static let formatID = "agentvm.checkpoint"
    /// The newest version this kernel writes and reads.
    public static let currentVersion = 1

    public var format: String
    public var version: Int
    public var metadata: CheckpointMetadata
    /// State when taken; `restore` brings the process back paused whatever it was.
    public var state: ProcessState
    public var agent: AgentDefinition
    public var memory: CheckpointMemory
    /// Pending messages in delivery order.
    public var mailbox: [BrokerMessage]
    public var counters: ProcessCounters
    public var subscriptions: [String]

    /// Encodes as JSON with sorted keys.
    public func encoded() throws -> Data { try KernelCoding.encoder().encode(self) }

    /// Reads a checkpoint, refusing foreign, newer-version and malformed documents with an error
    /// that says which and where.
    public static func decode(_ data: Data) throws(CheckpointError) -> Checkpoint {
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch { throw .malformed("not JSON: \(error)") }
        guard case .object(let top) = json else { throw .malformed("expected a JSON object, got \(json.typeName)") }
        guard let format = top["format"]?.stringValue, format == formatID else {
            throw .foreignFormat(top["format"]?.stringValue)
        }
        guard let version = top["version"]?.intValue else { throw .malformed("field version: missing or not an integer") }
        guard version <= currentVersion else { throw .unsupportedVersion(found: version, supported: currentVersion) }
        guard version >= 1 else { throw .malformed("field version: \(version) is not a version (versions start at 1)") }
        let d = KernelCoding.decoder()
        do {
            return try d.decode(Checkpoint.self, from: data)
        } catch let error as DecodingError {
            throw .malformed(describe(error))
        } catch {
            throw .malformed("\(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            let p = path(ctx.codingPath + [key])
            return "field \(p): missing"
        case .typeMismatch(let type, let ctx): return "field \(path(ctx.codingPath)): expected \(type)"
        case .valueNotFound(let type, let ctx): return "field \(path(ctx.codingPath)): expected \(type), got null"
        case .dataCorrupted(let ctx): return "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// Who, what and when.
public struct CheckpointMetadata: Sendable, Codable, Hashable {
    public var processID: String
    public var agent: String
    /// The `nodeID` of the kernel that took it.
    public var node: String
    public var createdAt: Date
    public var takenAt: Date
    public var reason: CheckpointReason
}

/// The process's memory namespace: live records with their expiry times.
public struct CheckpointMemory: Sendable, Codable, Hashable {
    public var namespace: String
    public var records: [MemoryRecord]
}

/// Why a checkpoint could not be read or restored. Nothing was changed.
public enum CheckpointError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed(String)
    /// Not an AgentVM checkpoint: `format` was missing or different.
    case foreignFormat(String?)
    /// Written by a newer AgentVM.
    case unsupportedVersion(found: Int, supported: Int)

    public var description: String {
        switch self {
        case .malformed(let why): return "malformed checkpoint: \(why)"
        case .foreignFormat(let f):
            return "not an AgentVM checkpoint: format is \(f.map { "\"\($0)\"" } ?? "missing"), expected \"\(Checkpoint.formatID)\""
        case .unsupportedVersion(let found, let supported):
            return "checkpoint version \(found) is newer than this kernel reads (up to \(supported))"
        }
    }
}
