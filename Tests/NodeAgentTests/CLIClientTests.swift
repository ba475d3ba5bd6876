import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

/// `APIClient` and the SSE parser over real HTTP on loopback (the node's own HTTP server).
@Suite struct CLIClientTests {
    @Test func sseParserHandlesChunkingAndLineEndings() {
        var parser = ServerSentEventParser()
        let wire = Array(": comment\r\nid: 7\r\nevent: process.spawned\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\ndata: x\n\ndata: y\r\rid: 9\nevent: e\ndata:z\n\n".utf8)
        var events: [ServerSentEvent] = []
        for byte in wire { events += parser.feed([byte]) }
        #expect(events == [
            ServerSentEvent(id: "7", event: "process.spawned", data: "{\"a\":\n1}"),
            ServerSentEvent(id: "7", event: "message", data: "x"),
            ServerSentEvent(id: "7", event: "message", data: "y"),
            ServerSentEvent(id: "9", event: "e", data: "z"),
        ])
        var whole = ServerSentEventParser()
        #expect(whole.feed(wire) == events)
    }

    @Test func urlsEscapePathSegmentsAndQueries() throws {
        let client = try APIClient(baseURL: "http://127.0.0.1:7070/")
        #expect(client.url("/v1/memory/shared/" + APIClient.escape("a b/c?")).absoluteString == "http://127.0.0.1:7070/v1/memory/shared/a%20b%2Fc%3F")
        #expect(client.url("/v1/logs", query: [("process", "p&1")]).absoluteString == "http://127.0.0.1:7070/v1/logs?process=p%261")
        #expect(throws: APIError.invalidURL("localhost:7070")) { try APIClient(baseURL: "localhost:7070") }
    }

    @Test func jsonCallsTokensAndErrorBodies() async throws {
        var router = Router()
        router.post("/v1/echo/:name") { request in
            let body = try request.jsonBody() ?? .null
            return .json(["name": .string(try request.parameter("name")), "body": body,
                          "auth": .string(request.header("authorization") ?? "")], status: 201)
        }
        router.get("/v1/missing") { _ in .error(HTTPError(status: 404, code: "process_not_found", message: "no process 'x'", field: "id")) }
        router.get("/v1/plain") { _ in .text("boom", status: 502) }
        var options = HTTPServerOptions()
        options.bearerToken = "s3cret"
        let server = HTTPServer(options: options, handler: router.handle)
        let port = try server.start(port: 0)
        let base = "http://127.0.0.1:\(port)"

        let client = try APIClient(baseURL: base, token: "s3cret", timeout: .seconds(10))
        let answer = try await client.post("/v1/echo/" + APIClient.escape("a b"), ["x": 1])
        #expect(answer["name"] == "a b")
        #expect(answer["body"] == ["x": 1])
        #expect(answer["auth"] == "Bearer s3cret")

        await #expect(throws: APIError.status(404, code: "process_not_found", message: "no process 'x'", field: "id")) {
            try await client.get("/v1/missing")
        }
        await #expect(throws: APIError.status(502, code: "http_502", message: "boom", field: nil)) {
            try await client.get("/v1/plain")
        }
        let anonymous = try APIClient(baseURL: base, timeout: .seconds(10))
        do {
            _ = try await anonymous.get("/v1/missing")
            Issue.record("expected 401")
        } catch {
            #expect(error.code == "unauthorized")
            #expect(error.httpStatus == 401)
        }
        await server.stop()
    }

    @Test func eventStreamDeliversEventsAndErrors() async throws {
        let bus = EventBus()
        var router = Router()
        router.get("/v1/events") { request in
            .eventStream(SSE.stream(bus.subscribe(EventFilter(request.query["type"] ?? "*"))))
        }
        let server = HTTPServer(handler: router.handle)
        let port = try server.start(port: 0)
        let client = try APIClient(baseURL: "http://127.0.0.1:\(port)", timeout: .seconds(10))

        let stream = client.events("/v1/events", query: [("type", "process.*")])
        let first = try await withThrowingTaskGroup(of: JSONValue?.self) { group in
            group.addTask {
                for try await event in stream {
                    if let json = try? JSONValue.parse(event.data), json["type"] == "process.spawned" { return json }
                }
                return nil
            }
            group.addTask {
                // Emit until the subscription is attached; the filter drops memory events.
                while !Task.isCancelled {
                    _ = bus.emit("memory.set", source: "memory", data: ["k": "v"])
                    _ = bus.emit("process.spawned", source: "p-1", data: ["id": "p-1"])
                    try await Task.sleep(for: .milliseconds(20))
                }
                return nil
            }
            let result = try await group.next() ?? nil
            group.cancelAll()
            return result
        }
        #expect(first?["source"] == "p-1")

        let missing = client.events("/v1/nothing")
        do {
            for try await _ in missing {}
            Issue.record("expected an error")
        } catch let error as APIError {
            #expect(error.httpStatus == 404)
            #expect(error.code == "not_found")
        }
        await server.stop()
    }
}
