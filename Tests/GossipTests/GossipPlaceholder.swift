import Testing
@testable import Gossip

@Test func GossipLinks() {}
