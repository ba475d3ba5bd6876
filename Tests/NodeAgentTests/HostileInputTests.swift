import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

/// Numbers from a request, a config file or an exec program's output must be refused with an error,
/// never trap the node.
@Suite("Hostile input")
struct NodeHostileInputTests {
    @Test func hugeDurationsInConfigAreNotDurations() {
        for text in ["1e300", "100000000000000", "100000000000s", "1e13", "99999999999999999999h"] {
            #expect(ConfigDuration.parse(text) == nil, "\(text)")
        }
        #expect(ConfigDuration.parse("9000000000000") == .milliseconds(9_000_000_000_000))
    }

    @Test func ttlNearTheInt64LimitIsABadRequest() throws {
        #expect(throws: HTTPError.self) { try RequestBody(fields: ["ttlMs": 9.5e12]).milliseconds("ttlMs") }
        #expect(try RequestBody(fields: ["ttlMs": 9e12]).milliseconds("ttlMs") == .milliseconds(9_000_000_000_000))
    }

    @Test func execUsageOutOfRangeIsRejected() {
        #expect(ExecAgentProcess.usageProblem(["tokens": 12, "cost": 0.5]) == nil)
        #expect(ExecAgentProcess.usageProblem([:]) == nil)
        for bad: [String: JSONValue] in [["tokens": 9e18], ["tokens": -1], ["tokens": 1.5], ["tokens": "x"],
                                          ["cost": -1], ["cost": 1e300]] {
            #expect(ExecAgentProcess.usageProblem(bad) != nil, "\(bad)")
        }
    }

    @Test func apiRefusesOverflowingIncrementAndHugeTTL() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let first = try await call(node, "POST", "/v1/memory/ns/big/increment", json: ["by": 1e308])
            #expect(first.status == 200)
            let second = try await call(node, "POST", "/v1/memory/ns/big/increment", json: ["by": 1e308])
            #expect(second.status == 400)
            #expect(second.errorField == "by")
            let got = try await call(node, "GET", "/v1/memory/ns/big")
            #expect(got.value["value"]?.doubleValue == 1e308)
            let ttl = try await call(node, "PUT", "/v1/memory/ns/k", json: ["value": 1, "ttlMs": 9.9e12])
            #expect(ttl.status == 400)
            #expect(ttl.errorField == "ttlMs")
        }
    }
}

@Suite("Stream pump bound")
struct StreamPumpBoundTests {
    @Test func aClientThatStopsReadingIsCutOffNotBufferedForever() {
        let (stream, continuation) = AsyncStream<Data>.makeStream()
        let pump = StreamPump(stream: stream, heartbeat: nil, heartbeatInterval: .seconds(60))
        let chunk = Data(count: 1 << 20)
        for _ in 0..<(StreamPump.maxPendingBytes / chunk.count + 2) { continuation.yield(chunk) }
        continuation.finish()
        // The client reads nothing until the producer is done.
        let deadline = ContinuousClock.now + .seconds(30)
        while !pump.producerEnded && ContinuousClock.now < deadline { usleep(1_000) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 1)
        defer { buffer.deallocate() }
        var last = 0
        for _ in 0..<1_000 {
            last = pump.read(into: buffer, max: 1 << 16)
            if last < 0 { break }
        }
        #expect(last == -2, "the stream is ended as cancelled (-2), not completed (-1)")
    }
}

@Suite("Deep JSON")
struct DeepJSONTests {
    @Test func deeplyNestedBodiesAreRefusedOrParsedWithoutCrashing() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            for depth in [400, 5_000, 200_000] {
                let value = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
                let r = try await call(node, "PUT", "/v1/memory/ns/deep", body: Data(#"{"value": \#(value)}"#.utf8))
                #expect(r.status == 200 || r.status == 400, "depth \(depth): \(r.status)")
                if r.status == 200 {
                    let got = try await call(node, "GET", "/v1/memory/ns/deep")
                    #expect(got.status == 200)
                }
            }
        }
    }
}
