import Foundation
import Testing
@testable import NodeAgent

@Suite struct InitFilesTests {
    /// `init` must work without the repository, so it carries its own copy of the example agent;
    /// this keeps the two from drifting apart.
    @Test func embeddedEchoAgentIsTheExampleAgent() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let example = try String(contentsOf: repo.appendingPathComponent("examples/agents/echo.py"), encoding: .utf8)
        #expect(InitFiles.echoAgent.trimmingCharacters(in: .whitespacesAndNewlines)
            == example.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
