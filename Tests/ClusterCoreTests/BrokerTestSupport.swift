import Foundation
import Synchronization
@testable import ClusterCore

/// Thread-safe list that test sinks append to.
final class Recorder<Element: Sendable>: Sendable {
    private let items = Mutex<[Element]>([])
    func append(_ e: Element) { items.withLock { $0.append(e) } }
    var all: [Element] { items.withLock { $0 } }
    var count: Int { items.withLock { $0.count } }
}

/// Counts calls and fails the first `failures` of them.
final class FlakySink: Sendable {
    private let calls = Atomic<Int>(0)
    let failures: Int
    init(failures: Int) { self.failures = failures }
    var callCount: Int { calls.load(ordering: .relaxed) }
    func deliver(_ m: BrokerMessage) throws {
        let n = calls.wrappingAdd(1, ordering: .relaxed).newValue
        if n <= failures { throw SinkFailure(n: n) }
    }
}

struct SinkFailure: Error, CustomStringConvertible {
    let n: Int
    var description: String { "sink failure #\(n)" }
}

/// Polls `condition` every few milliseconds until it holds or `timeout` passes; timing never
/// decides a test, only whether the condition came true at all.
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return condition()
}
