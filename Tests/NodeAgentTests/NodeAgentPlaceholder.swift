import Testing
@testable import NodeAgent

@Test func NodeAgentLinks() {}
