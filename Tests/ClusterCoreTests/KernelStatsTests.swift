import Foundation
import Testing
@testable import ClusterCore

@Suite("Kernel stats")
struct KernelStatsTests {
    @Test func statsCountAgentsProcessesByStateAndUsage() async throws {
        let kernel = makeKernel(handlers: ["rec": RecordingHandler(), "fail": FailingHandler()])
        try kernel.register(AgentDefinition(name: "r", handler: "rec"))
        try kernel.register(AgentDefinition(name: "f", handler: "fail"))
        let a = try await kernel.spawn("r")
        let b = try await kernel.spawn("r")
        let c = try await kernel.spawn("f")
        try await kernel.pause(b)
        _ = try? await kernel.execute(c, AgentTask())
        _ = try await kernel.execute(a, AgentTask(input: ["tokens": 5]))
        try await kernel.terminate(a)
        let s = kernel.stats()
        #expect(s.agents == 2)
        #expect(s.processes == 2)
        #expect(s.processesByState == [.paused: 1, .crashed: 1])
        #expect(s.totals.tokens == 5)
        #expect(s.totals.executions == 1)
        #expect(s.totals.failedExecutions == 1)
        #expect(s.droppedEvents == 0)
        let json = s.json
        #expect(json["processesByState"]?["paused"] == 1)
        #expect(json["processesByState"]?["running"] == 0)
        #expect(json["totals"]?["tokens"] == 5)
        #expect(json["memory"]?["keys"] != nil)
        #expect(json["broker"] != .null && json["tools"] != .null)
    }
}
