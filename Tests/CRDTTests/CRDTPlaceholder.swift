import Testing
@testable import CRDT

@Test func CRDTLinks() {}
