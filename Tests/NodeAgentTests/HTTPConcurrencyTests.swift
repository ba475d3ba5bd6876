import ClusterCore
import Foundation
import Synchronization
import Testing
@testable import NodeAgent

/// The polling-thread server under concurrency: many keep-alive clients, handlers that take long,
/// and stops while connections are suspended.
@Suite struct HTTPConcurrencyTests {
    private static func router(gate: TestGate = TestGate(), started: TestCounter = TestCounter(),
                               cancelled: TestCounter = TestCounter()) -> Router {
        var router = Router()
        router.addImmediate("GET", "/healthz") { _ in
            // Answered on the polling thread: no Task is running here.
            let inTask = withUnsafeCurrentTask { $0 != nil }
            return .json(["ok": true, "inTask": .bool(inTask)])
        }
        router.get("/v1/echo/:n") { request in
            await Task.yield()
            return .json(["n": .string(try request.parameter("n"))])
        }
        router.post("/v1/body") { request in
            .json(["bytes": .number(Double(request.body.count))])
        }
        router.get("/v1/gated") { _ in
            started.add()
            do { try await gate.wait() } catch {
                cancelled.add()
                throw error
            }
            return .json(["gated": true])
        }
        return router
    }

    private static func start(_ router: Router, threads: Int = 0) throws -> HTTPServer {
        var options = HTTPServerOptions()
        options.pollingThreads = threads
        let server = HTTPServer(options: options, immediate: router.handleImmediately, handler: router.handle)
        try server.start(port: 0)
        return server
    }

    @Test func manyKeepAliveClientsGetExactlyTheirOwnResponses() async throws {
        let server = try Self.start(Self.router())
        let port = server.port
        let clients = 48
        let perClient = 60
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for c in 0..<clients {
                group.addTask {
                    try await offPool { () -> (Int, Int) in
                        let client = try KeepAliveClient(port: port)
                        defer { client.close() }
                        var matched = 0
                        for i in 0..<perClient {
                            let id = c * 1_000 + i
                            switch i % 3 {
                            case 0:
                                let r = try client.request("GET", "/healthz")
                                if r.status == 200, r.json?["ok"] as? Bool == true { matched += 1 }
                            case 1:
                                let r = try client.request("GET", "/v1/echo/\(id)")
                                if r.status == 200, r.json?["n"] as? String == "\(id)" { matched += 1 }
                            default:
                                let r = try client.request("POST", "/v1/body", body: Data(count: id % 700))
                                if r.status == 200, r.json?["bytes"] as? Int == id % 700 { matched += 1 }
                            }
                        }
                        return (c, matched)
                    }
                }
            }
            var all: [Int: Int] = [:]
            for try await (c, matched) in group { all[c] = matched }
            return all
        }
        #expect(results.count == clients)
        #expect(results.values.allSatisfy { $0 == perClient }, "\(results.filter { $0.value != perClient })")
        await server.stop()
    }

    @Test func immediateRoutesAreAnsweredWithoutATask() async throws {
        let server = try Self.start(Self.router())
        let r = try await rawRequest(port: server.port, method: "GET", path: "/healthz")
        #expect(r.status == 200)
        #expect(r.json?["inTask"] as? Bool == false)
        // 404 and 405 are immediate too; async routes still work.
        #expect(try await rawRequest(port: server.port, method: "GET", path: "/nope").status == 404)
        #expect(try await rawRequest(port: server.port, method: "DELETE", path: "/healthz").status == 405)
        #expect(try await rawRequest(port: server.port, method: "GET", path: "/v1/echo/7").json?["n"] as? String == "7")
        await server.stop()
    }

    @Test func aSlowHandlerDoesNotBlockOtherConnectionsOnTheSamePollingThread() async throws {
        let gate = TestGate()
        let started = TestCounter()
        let server = try Self.start(Self.router(gate: gate, started: started), threads: 1)
        let port = server.port
        let slow = Task { try await rawRequest(port: port, method: "GET", path: "/v1/gated") }
        #expect(await waitUntil { started.count == 1 })
        // The gate stays shut until these finish, so they cannot have waited for the slow one.
        let served = try await offPool { () -> Int in
            let client = try KeepAliveClient(port: port)
            defer { client.close() }
            var ok = 0
            for i in 0..<100 {
                let path = i % 2 == 0 ? "/healthz" : "/v1/echo/\(i)"
                if try client.request("GET", path).status == 200 { ok += 1 }
            }
            return ok
        }
        #expect(served == 100)
        #expect(!gate.isOpen)
        gate.release()
        let r = try await slow.value
        #expect(r.status == 200)
        #expect(r.json?["gated"] as? Bool == true)
        await server.stop()
    }

    @Test func stopWhileRequestsAreSuspendedAnswersOrClosesEveryOne() async throws {
        for round in 0..<2 {
            let started = TestCounter()
            let cancelled = TestCounter()
            let router = Self.router(started: started, cancelled: cancelled)
            let server = try Self.start(router)
            let port = server.port
            let count = 24
            // Suspended requests on keep-alive connections, plus a stream that has nothing to send.
            let waiting = (0..<count).map { _ in
                Task { () -> Int? in
                    try? await offPool { () -> Int? in
                        let client = try KeepAliveClient(port: port)
                        defer { client.close() }
                        return try? client.request("GET", "/v1/gated").status
                    }
                }
            }
            #expect(await waitUntil { started.count == count }, "round \(round): \(started.count) handlers started")
            let stopped = Task { await server.stop() }
            for task in waiting {
                let status = await task.value
                // A 503 or a closed connection (nil), never a hang or another status.
                #expect(status == nil || status == 503, "round \(round): \(String(describing: status))")
            }
            await stopped.value
            #expect(!server.isRunning)
            #expect(await waitUntil { cancelled.count == count }, "round \(round): \(cancelled.count) handlers cancelled")
            // The same server starts again after a stop.
            try server.start(port: 0)
            #expect(try await rawRequest(port: server.port, method: "GET", path: "/v1/echo/1").status == 200)
            await server.stop()
        }
    }

    @Test func stopEndsAStreamThatNeverSentAChunk() async throws {
        var router = Router()
        router.get("/v1/events") { _ in .eventStream(AsyncStream { _ in }) }
        router.get("/v1/echo") { _ in .json(["ok": true]) }
        let server = HTTPServer(handler: router.handle)
        let port = try server.start(port: 0)
        let stream = try await offPool { try RawHTTPConnection(port: port) }
        defer { stream.closeNow() }
        try await offPool { try stream.send(Data("GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) }
        let head = try await offPool { () -> String in
            var text = ""
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, !text.contains("\r\n\r\n") {
                let chunk = try stream.receive()
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return text
        }
        #expect(head.contains("text/event-stream"))
        await server.stop()
        let closed = try await offPool { () -> Bool in
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline { if try stream.receive().isEmpty { return true } }
            return false
        }
        #expect(closed)
    }

    @Test func aBurstOfStreamChunksArrivesCompleteAndInOrder() async throws {
        let total = 3_000
        var router = Router()
        router.get("/v1/events") { _ in
            .eventStream(AsyncStream { c in
                Task {
                    for i in 0..<total {
                        c.yield(SSE.frame(data: "\(i)"))
                        if i % 100 == 0 { await Task.yield() }
                    }
                    c.finish()
                }
            })
        }
        let server = HTTPServer(handler: router.handle)
        let port = try server.start(port: 0)
        let text = try await offPool { () -> String in
            let conn = try RawHTTPConnection(port: port)
            defer { conn.closeNow() }
            try conn.send(Data("GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            var all = Data()
            let deadline = Date().addingTimeInterval(20)
            // The stream ends with the chunked terminator.
            while Date() < deadline, !String(decoding: all.suffix(7), as: UTF8.self).hasSuffix("0\r\n\r\n") {
                let chunk = try conn.receive()
                if chunk.isEmpty { break }
                all.append(chunk)
            }
            guard let split = all.range(of: Data("\r\n\r\n".utf8)) else { return "" }
            return String(decoding: dechunk(Data(all[split.upperBound...])), as: UTF8.self)
        }
        let numbers = text.components(separatedBy: "data: ").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
        #expect(numbers == Array(0..<total))
        await server.stop()
    }
}
