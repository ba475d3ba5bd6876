import Foundation
import Synchronization

/// Keeps checkpoints the kernel takes by itself (on crash) and any the caller hands it.
public protocol CheckpointStore: Sendable {
    func save(_ checkpoint: Data, process: String, reason: CheckpointReason) async throws
    /// The newest checkpoint of the process, if any.
    func latest(process: String) async throws -> Data?
}

/// Why a checkpoint was taken.
public enum CheckpointReason: String, Sendable, Codable, Hashable {
    case manual, crash, shutdown, migration
}

/// Keeps the newest checkpoint of each process in memory, up to `limit` processes (oldest dropped).
public final class InMemoryCheckpointStore: CheckpointStore {
    private struct State {
        var byProcess: [String: Data] = [:]
        var order: [String] = []
    }
    private let state = Mutex(State())
    public let limit: Int

    public init(limit: Int = 10_000) { self.limit = limit }

    public func save(_ checkpoint: Data, process: String, reason: CheckpointReason) async throws {
        state.withLock { s in
            if s.byProcess.updateValue(checkpoint, forKey: process) == nil { s.order.append(process) }
            while s.order.count > limit {
                let old = s.order.removeFirst()
                s.byProcess[old] = nil
            }
        }
    }

    public func latest(process: String) async throws -> Data? { state.withLock { $0.byProcess[process] } }

    /// Processes with a stored checkpoint.
    public var processes: [String] { state.withLock { $0.order } }
}
