import Foundation
import Testing
@testable import ClusterCore

@Suite struct ContractTests {
    private func contract() throws -> AgentContract {
        AgentContract(
            input: try JSONSchema(json: #"{"type": "object", "required": ["q"], "properties": {"q": {"type": "string"}}}"#),
            output: try JSONSchema(json: #"{"type": "string"}"#),
            maxLatency: .milliseconds(1500), maxCost: 0.25)
    }

    @Test func defaultsAreEmpty() {
        let c = AgentContract()
        #expect(c.input == nil && c.output == nil && c.maxLatency == nil && c.maxCost == nil)
        #expect(throws: Never.self) { try c.checkInput(42, agent: "a") }
        #expect(c.slaBreaches(latency: .seconds(100), cost: 1e9).isEmpty)
    }

    @Test func inputViolationNamesAgentPhaseAndPaths() throws {
        let c = try contract()
        try c.checkInput(["q": "hello"], agent: "search")
        do {
            try c.checkInput(["q": 5, "x": 1], agent: "search")
            Issue.record("expected a violation")
        } catch {
            #expect(error.agent == "search")
            #expect(error.phase == .input)
            #expect(error.violations == [SchemaViolation(path: "$.q", message: "expected string, got integer")])
            #expect(error.description == #"input of agent "search" breaks its contract: $.q: expected string, got integer"#)
            #expect(error.eventData["phase"] == "input")
            #expect(error.eventData["violations"]?[0]?["path"] == "$.q")
        }
    }

    @Test func outputViolation() throws {
        let c = try contract()
        try c.checkOutput("fine", agent: "a")
        #expect(throws: ContractViolation(agent: "a", phase: .output,
                                          violations: [SchemaViolation(path: "$", message: "expected string, got null")])) {
            try c.checkOutput(.null, agent: "a")
        }
    }

    @Test func slaBreaches() throws {
        let c = try contract()
        #expect(c.slaBreaches(latency: .milliseconds(1500), cost: 0.25).isEmpty)
        #expect(c.slaBreaches(latency: .milliseconds(1501), cost: nil) == [.latency(actual: .milliseconds(1501), limit: .milliseconds(1500))])
        let both = c.slaBreaches(latency: .seconds(2), cost: 0.5)
        #expect(both.map(\.kind) == ["latency", "cost"])
        #expect(both[0].eventData == ["kind": "latency", "actualMs": 2000, "limitMs": 1500])
        #expect(both[1].eventData == ["kind": "cost", "actual": 0.5, "limit": 0.25])
        #expect(both[0].description == "latency 2000 ms exceeds maxLatency 1500 ms")
        #expect(both[1].description == "cost 0.5 exceeds maxCost 0.25")
    }

    @Test func codableWithMillisecondsAndSchemaSources() throws {
        let c = try contract()
        let data = try JSONEncoder().encode(c)
        let json = try JSONValue.parse(data)
        #expect(json["maxLatencyMs"] == 1500)
        #expect(json["maxCost"] == 0.25)
        #expect(json["input"] == c.input?.source)
        #expect(json["output"] == ["type": "string"])
        let back = try JSONDecoder().decode(AgentContract.self, from: data)
        #expect(back == c)
        let partial = try JSONDecoder().decode(AgentContract.self, from: Data(#"{"maxLatencyMs": 2.5}"#.utf8))
        #expect(partial.maxLatency == .microseconds(2500))
        #expect(partial.input == nil)
    }

    @Test func decodingRejectsBadContracts() {
        let bad = [
            #"{"input": {"type": "nope"}}"#,
            #"{"maxLatencyMs": -1}"#,
            #"{"maxCost": -0.5}"#,
            #"{"maxLatencyMs": "soon"}"#,
        ]
        for text in bad {
            #expect(throws: DecodingError.self, "\(text)") { try JSONDecoder().decode(AgentContract.self, from: Data(text.utf8)) }
        }
        do {
            _ = try JSONDecoder().decode(AgentContract.self, from: Data(#"{"output": {"minLength": "x"}}"#.utf8))
        } catch {
            #expect(String(describing: error).contains("$.minLength"))
        }
    }
}
