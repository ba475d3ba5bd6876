import ClusterCore
import Foundation
import Synchronization
@testable import NodeAgent

/// A real in-memory ExecHost: answers memory requests from a dictionary and records everything.
final class RecordingExecHost: ExecHost {
    private struct State {
        var memory: [String: JSONValue] = [:]
        var requests: [ExecRequest] = []
        var events: [(String, JSONValue)] = []
        var logs: [ExecLogEntry] = []
        var exits: [ExecExit] = []
    }
    private let state = Mutex(State())

    func handle(_ request: ExecRequest, from process: String) async throws -> JSONValue {
        try state.withLock { s in
            s.requests.append(request)
            switch request {
            case .memoryGet(let key, _): return s.memory[key] ?? .null
            case .memorySet(let key, let value, _):
                s.memory[key] = value
                return .null
            case .memoryDelete(let key, _): return .bool(s.memory.removeValue(forKey: key) != nil)
            case .memoryList(let prefix, _): return .array(s.memory.keys.filter { $0.hasPrefix(prefix) }.sorted().map(JSONValue.string))
            case .memoryIncr(let key, let by, _):
                let next = (s.memory[key]?.doubleValue ?? 0) + by
                s.memory[key] = .number(next)
                return .number(next)
            case .memorySAdd, .memorySRem, .memorySMembers: throw TestHostError(message: "no sets in the test host")
            case .toolCall(let name, _): throw TestHostError(message: "no tool \(name)")
            case .publish, .send: return .null
            }
        }
    }

    func emit(type: String, data: JSONValue, from process: String) {
        state.withLock { $0.events.append((type, data)) }
    }

    func log(_ entry: ExecLogEntry, from process: String) {
        state.withLock { $0.logs.append(entry) }
    }

    func exited(_ exit: ExecExit, process: String) {
        state.withLock { $0.exits.append(exit) }
    }

    var memory: [String: JSONValue] { state.withLock { $0.memory } }
    var requests: [ExecRequest] { state.withLock { $0.requests } }
    var eventTypes: [String] { state.withLock { $0.events.map(\.0) } }
    var logs: [ExecLogEntry] { state.withLock { $0.logs } }
    var exits: [ExecExit] { state.withLock { $0.exits } }
}

struct TestHostError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The repository root (for examples/agents).
func repositoryRoot() -> URL {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url
}

/// Polls `condition` until it holds or the deadline passes.
func eventually(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Whether a pid is still alive (not yet reaped or zombie counts as alive for kill(0)).
func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }
