import ClusterCore
import Foundation
import Testing

/// Numbers from a checkpoint document or an API body must be rejected, not trap or poison state.
@Suite struct ClusterCoreHostileInputTests {
    @Test func hugeDurationsAreRejectedWhenDecoded() {
        for json in [#"{"maxLatencyMs": 1e300}"#, #"{"maxLatencyMs": 1e13}"#] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(AgentContract.self, from: Data(json.utf8)) }
        }
        for json in [#"{"count": 1, "perMs": 1e300}"#, #"{"count": 1, "perMs": 0}"#] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(RateLimit.self, from: Data(json.utf8)) }
        }
        #expect(throws: Never.self) { try JSONDecoder().decode(RateLimit.self, from: Data(#"{"count": 1, "perMs": 1000}"#.utf8)) }
    }

    @Test(arguments: MemoryBackendKind.allCases)
    func incrementPastTheFiniteNumbersIsRefused(_ kind: MemoryBackendKind) async throws {
        let f = try MemoryFixture(kind)
        defer { f.cleanup() }
        #expect(try await f.bus.increment("p", "n", by: 1e308) == 1e308)
        await #expect(throws: MemoryError.notFinite(key: "n")) { try await f.bus.increment("p", "n", by: 1e308) }
        #expect(try f.bus.get("p", "n") == .number(1e308))
    }
}
