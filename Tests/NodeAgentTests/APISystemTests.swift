import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

@Suite("API: node, health, metrics, events, auth")
struct APISystemTests {
    @Test func healthReadinessNodeAndMembers() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let health = try await call(node, "GET", "/healthz")
            #expect(health.value["status"]?.stringValue == "ok")
            let ready = try await call(node, "GET", "/readyz")
            #expect(ready.status == 200)
            #expect(ready.value["status"]?.stringValue == "ready")
            let info = try await call(node, "GET", "/v1/node")
            #expect(info.value["id"]?.stringValue == node.id)
            #expect(info.value["mode"]?.stringValue == "embedded")
            #expect(info.value["name"]?.stringValue == "test")
            #expect(info.value["listen"]?.stringValue == "http://127.0.0.1:\(node.port)")
            let members = try await call(node, "GET", "/v1/members")
            #expect(members.value["members"]?.arrayValue?.count == 1)
            #expect(members.value["members"]?[0]?["status"]?.stringValue == "alive")
            #expect(members.value["members"]?[0]?["id"]?.stringValue == node.id)
            let nowhere = try await call(node, "GET", "/v1/nothing")
            #expect(nowhere.status == 404)
            #expect(nowhere.errorCode == "not_found")
            let wrongMethod = try await call(node, "PUT", "/v1/agents")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.errorCode == "method_not_allowed")
        }
    }

    @Test func nodeJSONNamesTheAPIAndGoesAwayOnStop() async throws {
        let dir = makeNodeTempDir()
        let node = try await startNode(try nodeConfig(dir: dir))
        let path = (node.dataDirectory as NSString).appendingPathComponent("node.json")
        let data = try #require(FileManager.default.contents(atPath: path))
        let status = try JSONValue.parse(data)
        #expect(status["api"]?.stringValue == "http://127.0.0.1:\(node.port)")
        #expect(status["nodeId"]?.stringValue == node.id)
        #expect(status["pid"]?.intValue == Int(ProcessInfo.processInfo.processIdentifier))
        #expect(status["startedAt"]?.stringValue != nil)
        await node.stop()
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(node.phase == .stopped)
        // The generated id is kept for the next start.
        let again = try Node(config: try nodeConfig(dir: dir), logger: NodeLogger(level: .error))
        #expect(again.id == node.id)
        again.store.close()
    }

    @Test func statsAndMetrics() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            _ = try await call(node, "POST", "/v1/processes", json: ["agent": "tally", "count": 2, "input": [:]])
            let stats = try await call(node, "GET", "/v1/stats")
            #expect(stats.value["agents"]?.intValue == 3)
            #expect(stats.value["processes"]?.intValue == 2)
            #expect(stats.value["processesByState"]?["running"]?.intValue == 2)
            #expect(stats.value["executions"]?.intValue == 2)
            #expect(stats.value["memory"]?["keys"]?.intValue == 2)
            #expect(stats.value["channels"]?.intValue != nil)
            #expect(stats.value["tools"]?["registered"]?.intValue == 2)
            let metrics = try await call(node, "GET", "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains("agentvm_processes{state=\"running\"} 2"))
            #expect(metrics.text.contains("agentvm_executions_total 2"))
            #expect(metrics.text.contains("agentvm_http_requests_total{code=\"201\"} 1"))
            #expect(metrics.text.contains("# TYPE agentvm_agents gauge"))
            // The spawns went through the journal's group commit; each metric's samples are together.
            let lines = metrics.text.split(separator: "\n")
            let journalWrites = lines.first { $0.hasPrefix("agentvm_sqlite_writes_total{db=\"node\"} ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
            #expect((journalWrites ?? 0) > 0, "\(metrics.text)")
            #expect(lines.filter { $0 == "# TYPE agentvm_sqlite_checkpoints_total counter" }.count == 1)
            #expect(metrics.text.contains("agentvm_sqlite_checkpoints_total{db=\"node\",by=\"background\"} "))
        }
    }

    @Test func bearerTokenGuardsEverythingButHealth() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir(), token: "s3cret")) { node in
            let none = try await call(node, "GET", "/v1/agents")
            #expect(none.status == 401)
            #expect(none.errorCode == "unauthorized")
            let wrong = try await call(node, "GET", "/v1/agents", token: "guess")
            #expect(wrong.status == 401)
            let right = try await call(node, "GET", "/v1/agents", token: "s3cret")
            #expect(right.status == 200)
            let health = try await call(node, "GET", "/healthz")
            #expect(health.status == 200)
            let ready = try await call(node, "GET", "/readyz")
            #expect(ready.status == 200)
        }
    }

    @Test func logsComeFromTheEventRing() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let a = try await call(node, "POST", "/v1/processes", json: ["agent": "greeter"])
            let b = try await call(node, "POST", "/v1/processes", json: ["agent": "greeter"])
            let idA = try #require(a.value["processes"]?[0]?["id"]?.stringValue)
            let idB = try #require(b.value["processes"]?[0]?["id"]?.stringValue)
            _ = try await call(node, "POST", "/v1/processes/\(idA)/execute", json: ["input": 1])
            var events: [JSONValue] = []
            let seen = try await waitUntil {
                events = try await call(node, "GET", "/v1/logs?process=\(idA)").value["events"]?.arrayValue ?? []
                return events.contains { $0["type"]?.stringValue == "execution.completed" }
            }
            #expect(seen)
            #expect(events.allSatisfy { $0["source"]?.stringValue == idA || $0["data"]?["process"]?.stringValue == idA })
            #expect(!events.contains { $0["source"]?.stringValue == idB })
            let types = events.compactMap { $0["type"]?.stringValue }
            #expect(types.contains("process.spawned"))
            let lastID = try #require(events.last?["id"]?.intValue)
            let after = try await call(node, "GET", "/v1/logs?process=\(idA)&after=\(lastID)")
            #expect(after.value["events"]?.arrayValue?.isEmpty == true)
            let limited = try await call(node, "GET", "/v1/logs?limit=2")
            #expect(limited.value["events"]?.arrayValue?.count == 2)
            let bad = try await call(node, "GET", "/v1/logs?limit=0")
            #expect(bad.status == 400)
            #expect(bad.errorField == "limit")
        }
    }

    @Test func eventsStreamAsServerSentEvents() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let port = node.port
            let (reader, finished) = readEvents(port: port, path: "/v1/events?type=process.*", until: "event: process.started")
            // The stream subscribes some time after the request is sent: spawn until it reports one.
            _ = try await waitUntil(.seconds(15)) {
                _ = try await call(node, "POST", "/v1/processes", json: ["agent": "greeter", "input": 1])
                return finished.isSet
            }
            let text = try await reader.value
            #expect(text.contains("text/event-stream"))
            #expect(text.contains("event: process.started"))
            #expect(!text.contains("event: execution."))
        }
    }

    @Test func eventsCanBeFilteredByProcess() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let spawned = try await call(node, "POST", "/v1/processes", json: ["agent": "greeter"])
            let id = try #require(spawned.value["processes"]?[0]?["id"]?.stringValue)
            let other = try await call(node, "POST", "/v1/processes", json: ["agent": "greeter"])
            let otherID = try #require(other.value["processes"]?[0]?["id"]?.stringValue)
            let port = node.port
            let (reader, finished) = readEvents(port: port, path: "/v1/events?process=\(id)", until: "event: execution.completed")
            _ = try await waitUntil(.seconds(15)) {
                _ = try await call(node, "POST", "/v1/processes/\(otherID)/execute", json: ["input": 1])
                _ = try await call(node, "POST", "/v1/processes/\(id)/execute", json: ["input": 2])
                return finished.isSet
            }
            let text = try await reader.value
            #expect(text.contains("event: execution.completed"))
            #expect(text.contains(id))
            #expect(!text.contains(otherID))
        }
    }
}

/// Reads an SSE stream on a raw connection (off the cooperative pool) until `marker` shows up or
/// 15 s pass; the flag is set once the reader is done.
func readEvents(port: UInt16, path: String, until marker: String) -> (Task<String, any Error>, TestFlag) {
    let finished = TestFlag()
    let reader = Task { () throws -> String in
        defer { finished.set() }
        return try await offPool {
            let conn = try RawHTTPConnection(port: port)
            defer { conn.closeNow() }
            try conn.send(Data("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
            var text = ""
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                let chunk = try conn.receive()
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
                if text.contains(marker) { break }
            }
            return text
        }
    }
    return (reader, finished)
}
