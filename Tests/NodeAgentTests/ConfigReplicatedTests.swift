import Foundation
import Testing
@testable import NodeAgent

/// `memory.replicated`: decoding, the errors at each element's line, and hot reload.
@Suite struct ConfigReplicatedTests {
    func issues(_ text: String) -> [String] { configIssues(text) }

    @Test func readsTheListInFileOrder() throws {
        let c = try NodeConfig.parse("""
            memory:
              backend: sqlite
              replicated: [team, plans, shared]
            """)
        #expect(c.memory.replicated == ["team", "plans", "shared"])
        #expect(try NodeConfig.parse("memory: {backend: memory}").memory.replicated.isEmpty)
        #expect(try NodeConfig.parse("memory: {replicated: []}").memory.replicated.isEmpty)
    }

    @Test func badNamesAreErrorsAtTheirLine() {
        let text = """
            memory:
              replicated:
                - team
                - a/b
                - __sys
                - ""
                - team
                - {x: 1}
            """
        #expect(issues(text) == [
            "agentvm.yml:4:7: memory.replicated[1]: namespace 'a/b' contains '/' (hint: replicated keys are '<namespace>/<key>'; use '-', '_' or '.' instead)",
            "agentvm.yml:5:7: memory.replicated[2]: namespace '__sys' starts with '__', which is reserved",
            "agentvm.yml:6:7: memory.replicated[3]: a namespace name must not be empty",
            "agentvm.yml:7:7: memory.replicated[4]: namespace 'team' is listed twice",
            "agentvm.yml:8:7: memory.replicated[5]: expected a namespace name, got a mapping",
        ])
        #expect(issues("memory:\n  replicated: team\n") == [
            "agentvm.yml:2:3: memory.replicated: expected a list of namespace names, got a string (hint: e.g. replicated: [team, plans])",
        ])
    }

    @Test func changingTheListIsBreakingButReorderingIsNot() throws {
        let old = try NodeConfig.parse("memory: {replicated: [a, b]}")
        #expect(NodeConfig.diff(old, try NodeConfig.parse("memory: {replicated: [b, a]}")).isEmpty)
        let c = NodeConfig.diff(old, try NodeConfig.parse("memory: {replicated: [b, c]}"))
        #expect(c.isBreaking)
        #expect(c.breaking.map(\.path) == ["memory.replicated"])
        #expect(c.description.contains("added c; removed a"))
    }
}
