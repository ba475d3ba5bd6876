import AgentVMTestKit
import Foundation
import NATSBridge
import Testing
import Transport

/// Throughput and latency through a real local server. Off by default (figures, not
/// assertions): run with `AGENTVM_NATS_BENCH=1 swift test --filter NATSBenchTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["AGENTVM_NATS_BENCH"] == "1"))
struct NATSBenchTests {
    @Test func pubSubThroughputAndRequestLatency() async throws {
        let server = try NATSServerFixture.started(jetStream: false)
        defer { server.stop() }
        var pubOptions = testOptions([server.url], name: "bench-pub")
        pubOptions.sendAsap = ProcessInfo.processInfo.environment["AGENTVM_NATS_SEND_ASAP"] != "0"
        let pub = try await NATSConnection.connect(pubOptions)
        defer { pub.close() }
        let sub = try await connect(server, name: "bench-sub")
        defer { sub.close() }

        let count = 200_000
        let s = try sub.subscribe("bench.pubsub", queue: nil,
                                  pendingLimits: NATSOptions.PendingLimits(messages: count, bytes: 1 << 30))
        try await sub.flush(timeout: .seconds(5))
        let payload = Data(repeating: 1, count: 16)
        let clock = ContinuousClock()
        let start = clock.now
        let receiver = Task {
            var n = 0
            for await _ in s.messages {
                n += 1
                if n == count { break }
            }
            return n
        }
        for _ in 0..<count { try pub.publish("bench.pubsub", payload: payload) }
        try await pub.flush(timeout: .seconds(30))
        let received = await receiver.value
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("nats_pubsub_16B_msgs_per_s(send_asap=\(pubOptions.sendAsap)) \(Int(Double(received) / seconds)) (received \(received)/\(count), dropped \(s.stats.dropped))")

        let echo = try sub.subscribe("bench.echo")
        let serving = Task { for await m in echo.messages { try? sub.respond(to: m, payload: m.payload) } }
        defer { serving.cancel() }
        try await sub.flush(timeout: .seconds(5))
        var samples: [Duration] = []
        for _ in 0..<2_000 {
            let t0 = clock.now
            _ = try await pub.request("bench.echo", payload: payload, timeout: .seconds(5))
            samples.append(clock.now - t0)
        }
        samples.sort()
        func us(_ d: Duration) -> Int { Int(d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000) }
        print("nats_request_p50_us \(us(samples[samples.count / 2])) p99_us \(us(samples[samples.count * 99 / 100]))")
    }
}
