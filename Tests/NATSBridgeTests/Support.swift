import AgentVMTestKit
import Foundation
import Synchronization
import NATSBridge
import Transport

/// Options for a test connection to a fixture server: fast reconnects so tests stay short.
func testOptions(_ urls: [String], name: String = "test") -> NATSOptions {
    var o = NATSOptions(servers: urls, name: name)
    o.reconnect.wait = .milliseconds(50)
    o.reconnect.maxWait = .milliseconds(200)
    o.reconnect.jitter = .milliseconds(20)
    return o
}

func connect(_ server: NATSServerFixture, name: String = "test") async throws -> NATSConnection {
    try await NATSConnection.connect(testOptions([server.url], name: name))
}

/// Collects messages from a stream until `count` arrived or the deadline passed.
func collect(_ stream: AsyncStream<TransportMessage>, count: Int, deadline: Duration = .seconds(10)) async -> [TransportMessage] {
    await withTaskGroup(of: [TransportMessage].self) { group in
        group.addTask {
            var out: [TransportMessage] = []
            for await m in stream {
                out.append(m)
                if out.count >= count { break }
            }
            return out
        }
        group.addTask {
            try? await Task.sleep(for: deadline)
            return []
        }
        var result: [TransportMessage] = []
        if let first = await group.next() { result = first }
        group.cancelAll()
        return result
    }
}

extension Data {
    init(_ string: String) { self = Data(string.utf8) }
}

/// Consumes a stream in the background so a test can wait for what arrived, with a deadline,
/// instead of blocking forever on `next()`.
final class Collector<Element: Sendable>: Sendable {
    private final class Store: Sendable {
        let items = Mutex<[Element]>([])
        let ended = Mutex(false)
    }

    private let store = Store()
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<Element>) {
        let store = self.store
        task = Task {
            for await e in stream { store.items.withLock { $0.append(e) } }
            store.ended.withLock { $0 = true }
        }
    }

    var all: [Element] { store.items.withLock { $0 } }
    var isFinished: Bool { store.ended.withLock { $0 } }

    /// Waits until at least `count` elements arrived; returns them (fewer if the deadline passed).
    func wait(for count: Int, deadline: Duration = .seconds(10)) async -> [Element] {
        await waitUntil(deadline: deadline) { all.count >= count }
        return all
    }

    /// Waits until the stream ended.
    func waitFinished(deadline: Duration = .seconds(10)) async -> Bool {
        await waitUntil(deadline: deadline) { isFinished }
    }

    deinit { task.cancel() }
}
