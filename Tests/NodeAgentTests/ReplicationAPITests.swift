import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

/// The set routes on an embedded node (the shared namespace stays the MemoryBus one there).
@Suite("API: sets (embedded)")
struct ReplicationAPITests {
    @Test func setRoutesOnAnEmbeddedNode() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let added = try await call(node, "POST", "/v1/memory/shared/tags/sadd", json: ["members": ["b", "a", "b"]])
            #expect(added.status == 200)
            #expect(added.value["members"] == ["a", "b"])
            let one = try await call(node, "POST", "/v1/memory/shared/tags/sadd", json: ["member": "c"])
            #expect(one.value["members"] == ["a", "b", "c"])
            let removed = try await call(node, "POST", "/v1/memory/shared/tags/srem", json: ["members": ["a"]])
            #expect(removed.value["members"] == ["b", "c"])
            let listed = try await call(node, "GET", "/v1/memory/shared/tags/members")
            #expect(listed.value["members"] == ["b", "c"])
            let missing = try await call(node, "GET", "/v1/memory/shared/nothing/members")
            #expect(missing.status == 404)
            _ = try await call(node, "PUT", "/v1/memory/shared/plain", json: ["value": 1])
            let wrong = try await call(node, "POST", "/v1/memory/shared/plain/sadd", json: ["member": "x"])
            #expect(wrong.status == 409)
            #expect(wrong.errorCode == "wrong_type")
            let bad = try await call(node, "POST", "/v1/memory/shared/tags/sadd", json: ["members": "x"])
            #expect(bad.status == 400)
            #expect(bad.errorField == "members")
        }
    }
}
