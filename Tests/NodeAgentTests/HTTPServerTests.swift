import ClusterCore
import Foundation
import Synchronization
import Testing
@testable import NodeAgent

private func makeRouter() -> Router {
    var router = Router()
    router.get("/healthz") { _ in .json(["ok": true]) }
    router.post("/v1/processes/:id/pause") { request in
        .json(["paused": .string(try request.parameter("id")), "q": .string(request.query["reason"] ?? "")])
    }
    router.post("/v1/echo") { request in
        let object = try request.jsonObject()
        guard object["value"] != nil else { throw HTTPError.badRequest("missing 'value'", field: "value") }
        return .json(.object(object))
    }
    router.get("/metrics") { _ in .text("up 1\n", contentType: "text/plain; version=0.0.4") }
    router.get("/v1/slow") { _ in
        try await Task.sleep(for: .milliseconds(200))
        return .json(["slow": true])
    }
    return router
}

private func startServer(_ options: HTTPServerOptions = HTTPServerOptions(),
                         router: Router = makeRouter()) throws -> HTTPServer {
    let server = HTTPServer(options: options, handler: router.handle)
    try server.start(host: "127.0.0.1", port: 0)
    return server
}

@Suite struct HTTPServerTests {
    @Test func routesWithParametersAndQuery() async throws {
        let server = try startServer()
        let port = server.port
        #expect(port != 0)
        let r = try await rawRequest(port: port, method: "POST", path: "/v1/processes/p-7/pause?reason=test%20run")
        #expect(r.status == 200)
        #expect(r.json?["paused"] as? String == "p-7")
        #expect(r.json?["q"] as? String == "test run")
        let m = try await rawRequest(port: port, method: "GET", path: "/metrics")
        #expect(m.text == "up 1\n")
        #expect(m.headers["content-type"] == "text/plain; version=0.0.4")
        await server.stop()
        #expect(!server.isRunning)
    }

    @Test func notFoundAndMethodNotAllowed() async throws {
        let server = try startServer()
        let nf = try await rawRequest(port: server.port, method: "GET", path: "/nope")
        #expect(nf.status == 404)
        #expect(nf.errorCode == "not_found")
        let na = try await rawRequest(port: server.port, method: "DELETE", path: "/healthz")
        #expect(na.status == 405)
        #expect(na.errorCode == "method_not_allowed")
        #expect(na.headers["allow"] == "GET")
        await server.stop()
    }

    @Test func malformedJSONIsA400NamingTheProblem() async throws {
        let server = try startServer()
        let bad = try await rawRequest(port: server.port, method: "POST", path: "/v1/echo", body: Data("{\"value\": ".utf8))
        #expect(bad.status == 400)
        #expect(bad.errorCode == "invalid_json")
        #expect(bad.errorMessage?.contains("not valid JSON") == true)
        let missing = try await rawRequest(port: server.port, method: "POST", path: "/v1/echo", body: Data("{\"other\":1}".utf8))
        #expect(missing.status == 400)
        #expect((missing.json?["error"] as? [String: Any])?["field"] as? String == "value")
        let ok = try await rawRequest(port: server.port, method: "POST", path: "/v1/echo", body: Data("{\"value\":[1,2]}".utf8))
        #expect(ok.status == 200)
        #expect(ok.json?["value"] as? [Int] == [1, 2])
        await server.stop()
    }

    @Test func bodyOverTheLimitIs413() async throws {
        var options = HTTPServerOptions()
        options.maxBodyBytes = 1024
        let server = try startServer(options)
        let big = Data(repeating: 0x41, count: 200_000)
        let r = try await rawRequest(port: server.port, method: "POST", path: "/v1/echo", body: big)
        #expect(r.status == 413)
        #expect(r.errorCode == "payload_too_large")
        // The server still serves after the oversized request.
        let h = try await rawRequest(port: server.port, method: "GET", path: "/healthz")
        #expect(h.status == 200)
        await server.stop()
    }

    @Test func bearerToken() async throws {
        var options = HTTPServerOptions()
        options.bearerToken = "s3cret"
        let server = try startServer(options)
        let none = try await rawRequest(port: server.port, method: "GET", path: "/metrics")
        #expect(none.status == 401)
        #expect(none.errorCode == "unauthorized")
        let wrong = try await rawRequest(port: server.port, method: "GET", path: "/metrics", headers: ["Authorization": "Bearer nope!!"])
        #expect(wrong.status == 401)
        let right = try await rawRequest(port: server.port, method: "GET", path: "/metrics", headers: ["Authorization": "Bearer s3cret"])
        #expect(right.status == 200)
        let open = try await rawRequest(port: server.port, method: "GET", path: "/healthz")
        #expect(open.status == 200)
        await server.stop()
    }

    @Test func concurrentRequests() async throws {
        let server = try startServer()
        let port = server.port
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<24 {
                group.addTask {
                    let path = i % 2 == 0 ? "/v1/slow" : "/healthz"
                    return try await rawRequest(port: port, method: "GET", path: path).status
                }
            }
            var all: [Int] = []
            for try await s in group { all.append(s) }
            return all
        }
        #expect(statuses.count == 24)
        #expect(statuses.allSatisfy { $0 == 200 })
        await server.stop()
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        let server = try startServer()
        let port = server.port
        let count = try await offPool { () -> Int in
            let conn = try RawHTTPConnection(port: port)
            defer { conn.closeNow() }
            let one = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            try conn.send(Data((one + one + one).utf8))
            var all = Data()
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                all.append(try conn.receive())
                if String(decoding: all, as: UTF8.self).components(separatedBy: "HTTP/1.1 200").count - 1 == 3 { break }
            }
            return String(decoding: all, as: UTF8.self).components(separatedBy: "HTTP/1.1 200").count - 1
        }
        #expect(count == 3)
        await server.stop()
    }

    @Test func garbageRequestsDoNotHurtTheServer() async throws {
        let server = try startServer()
        let port = server.port
        let reply = try await offPool { () -> String in
            let conn = try RawHTTPConnection(port: port)
            defer { conn.closeNow() }
            try conn.send(Data("\u{01}\u{02}GARBAGE / NOT-HTTP\r\nX\r\n\r\n".utf8))
            var all = Data()
            while true {
                let chunk = try conn.receive()
                if chunk.isEmpty { break }
                all.append(chunk)
            }
            return String(decoding: all, as: UTF8.self)
        }
        #expect(!reply.contains(" 200 "))
        let h = try await rawRequest(port: port, method: "GET", path: "/healthz")
        #expect(h.status == 200)
        await server.stop()
    }

    @Test func refusesRemoteHostsUnlessAllowed() throws {
        let server = HTTPServer(handler: makeRouter().handle)
        #expect(throws: HTTPServerError.remoteNotAllowed("0.0.0.0")) { try server.start(host: "0.0.0.0", port: 0) }
        #expect(throws: HTTPServerError.invalidHost("no such host")) { try server.start(host: "no such host", port: 0) }
    }

    @Test func stopWithOpenConnectionsAndInFlightRequest() async throws {
        let started = TestFlag()
        var router = Router()
        router.get("/v1/hang") { _ in
            started.set()
            try await Task.sleep(for: .seconds(600))
            return .json(["never": true])
        }
        let server = try startServer(router: router)
        let port = server.port
        // An idle keep-alive connection plus one stuck in a handler.
        let idle = try await offPool { try RawHTTPConnection(port: port) }
        defer { idle.closeNow() }
        let hung = Task { try await rawRequest(port: port, method: "GET", path: "/v1/hang") }
        let deadline = ContinuousClock.now + .seconds(10)
        while !started.isSet && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(started.isSet)
        await server.stop()
        let r = try await hung.value
        #expect(r.status == 503)
        // The idle connection was closed by the server.
        let eof = try await offPool { try idle.receive() }
        #expect(eof.isEmpty)
    }
}
