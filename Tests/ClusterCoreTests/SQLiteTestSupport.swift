import Foundation
import Synchronization

/// A fresh temp directory per test, removed by `cleanup()`.
struct SQLiteTempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("agentvm-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes; returns whether it held.
func sqliteWaitUntil(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try condition()
}

/// A latch a write body can block on until the test opens it.
final class SQLiteGate: Sendable {
    private let sem = DispatchSemaphore(value: 0)
    private let entered = Atomic<Bool>(false)
    var hasEntered: Bool { entered.load(ordering: .relaxed) }
    func wait() {
        entered.store(true, ordering: .relaxed)
        sem.wait()
    }
    func open() { sem.signal() }
}

/// Test failure with a message.
struct SQLiteTestFailure: Error, CustomStringConvertible {
    let description: String
}

/// A value handed from another thread.
final class SQLiteBox: Sendable {
    private let value = Mutex<Int64?>(nil)
    func set(_ v: Int64?) { value.withLock { $0 = v } }
    func get() -> Int64? { value.withLock { $0 } }
}
