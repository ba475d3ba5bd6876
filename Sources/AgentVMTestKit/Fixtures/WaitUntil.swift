import Foundation

/// Polls `condition` every `poll` until it holds or `deadline` has passed; returns whether it held.
/// Tests wait on conditions this way rather than sleeping for a guessed time.
@discardableResult
public func waitUntil(deadline: Duration = .seconds(10), poll: Duration = .milliseconds(20),
                      _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: deadline)
    while true {
        if try await condition() { return true }
        if clock.now >= end { return false }
        try? await Task.sleep(for: poll)
    }
}

/// The synchronous form, for fixtures that wait outside async code.
@discardableResult
public func waitUntilBlocking(deadline: Duration = .seconds(10), poll: Duration = .milliseconds(20),
                              _ condition: () throws -> Bool) rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: deadline)
    while true {
        if try condition() { return true }
        if clock.now >= end { return false }
        let (s, atto) = poll.components
        usleep(UInt32(max(1_000, s * 1_000_000 + atto / 1_000_000_000_000)))
    }
}
