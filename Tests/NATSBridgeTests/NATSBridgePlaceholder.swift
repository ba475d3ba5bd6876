import Testing
@testable import NATSBridge

@Test func NATSBridgeLinks() {}
