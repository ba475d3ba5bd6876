import Foundation
import Synchronization
@testable import ClusterCore

/// A clock that moves only when the test says so.
final class MemoryManualClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { current.withLock { $0 } }
    func advance(seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var function: @Sendable () -> Date { { [self] in self.now } }
}

/// Which backend a parameterized test runs on.
enum MemoryBackendKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case inMemory, sqlite
    var description: String { rawValue }
}

/// A bus on a fresh backend, with a manual clock and a recorder of memory events.
final class MemoryFixture: Sendable {
    let bus: MemoryBus
    let backend: any MemoryBackend
    let clock = MemoryManualClock()
    let events = EventBus()
    let dir: SQLiteTempDir
    private let subscription: EventSubscription

    init(_ kind: MemoryBackendKind) throws {
        dir = try SQLiteTempDir()
        switch kind {
        case .inMemory: backend = InMemoryBackend()
        case .sqlite: backend = try SQLiteBackend(path: dir.path("memory.db"))
        }
        bus = MemoryBus(backend: backend, events: events, clock: clock.function)
        subscription = events.subscribe("memory.*")
    }

    /// The first `count` memory events, or fewer if `timeout` passes first. Call once per fixture:
    /// a timeout ends the stream.
    func events(count: Int, timeout: Duration = .seconds(10)) async -> [KernelEvent] {
        let out: [KernelEvent]
        let stream = subscription.events
        let collector = Task { () -> [KernelEvent] in
            var got: [KernelEvent] = []
            for await e in stream {
                got.append(e)
                if got.count >= count { break }
            }
            return got
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            collector.cancel()
        }
        out = await collector.value
        timer.cancel()
        return out
    }

    func cleanup() {
        subscription.cancel()
        bus.stopSweeper()
        (backend as? SQLiteBackend)?.close()
        dir.cleanup()
    }
}
