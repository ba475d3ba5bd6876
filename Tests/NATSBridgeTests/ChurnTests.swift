import AgentVMTestKit
import Foundation
import NATSBridge
import Testing
import Transport

/// Every C handle must be released: many connect/subscribe/publish/unsubscribe/close cycles
/// must not grow the thread count or resident memory.
@Suite struct ChurnTests {
    private static func status(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let digits = line.dropFirst(field.count + 1).filter(\.isNumber)
            return Int(digits) ?? -1
        }
        return -1
    }

    private static func cycle(_ server: NATSServerFixture, index: Int) async throws {
        let nc = try await connect(server, name: "churn-\(index)")
        let sub = try nc.subscribe("churn.\(index)", queue: nil, pendingLimits: nil)
        try nc.publish("churn.\(index)", payload: Data(repeating: 7, count: 256))
        var it = sub.messages.makeAsyncIterator()
        _ = await it.next()
        sub.unsubscribe()
        nc.close()
    }

    @Test func connectSubscribeCloseDoesNotLeakThreadsOrMemory() async throws {
        let server = try NATSServerFixture.started(jetStream: false)
        defer { server.stop() }
        // Warm up: the library's shared threads (delivery pool, timers, async callbacks) start once.
        for i in 0..<20 { try await Self.cycle(server, index: i) }
        let threadsBefore = Self.status("Threads")
        let rssBefore = Self.status("VmRSS")
        for i in 0..<200 { try await Self.cycle(server, index: i) }
        // Connection threads exit asynchronously after close; give them a deadline to go. Other
        // suites run in parallel and own threads too, so the bound is loose; a leak of 200
        // connections would add at least 400 threads (reader and flusher each).
        let settled = await waitUntil(deadline: .seconds(10), poll: .milliseconds(50)) {
            Self.status("Threads") <= threadsBefore + 16
        }
        let threadsAfter = Self.status("Threads")
        let rssAfter = Self.status("VmRSS")
        print("churn: threads \(threadsBefore) -> \(threadsAfter), VmRSS \(rssBefore) kB -> \(rssAfter) kB")
        #expect(settled, "threads grew from \(threadsBefore) to \(threadsAfter)")
        // Generous because other suites run in parallel in this process; a clean run moves it by
        // less than 100 kB. Leaked connections are caught sharply by the thread count (measured:
        // 200 connections kept open add ~200 threads and ~5.5 MB).
        #expect(rssAfter - rssBefore < 16 * 1024, "resident memory grew by \(rssAfter - rssBefore) kB")
    }
}
