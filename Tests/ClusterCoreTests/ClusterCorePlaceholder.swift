import Testing
@testable import ClusterCore

@Test func ClusterCoreLinks() {}
