import ClusterCore
import Foundation
import Synchronization
import Testing
@testable import NodeAgent

@Suite struct HTTPStreamTests {
    @Test func sseReceivesEventsAndServerNoticesDisconnect() async throws {
        let bus = EventBus()
        let terminated = TestFlag()
        var router = Router()
        router.get("/v1/events") { request in
            let filter = EventFilter(request.query["type"] ?? "*")
            let frames = SSE.stream(bus.subscribe(filter))
            // Wrap to observe the producer being cancelled when the client goes away.
            let observed = AsyncStream<Data> { continuation in
                let task = Task {
                    for await frame in frames { continuation.yield(frame) }
                    continuation.finish()
                }
                continuation.onTermination = { _ in
                    task.cancel()
                    terminated.set()
                }
            }
            return .eventStream(observed)
        }
        var options = HTTPServerOptions()
        options.streamHeartbeat = .milliseconds(50)
        let server = HTTPServer(options: options, handler: router.handle)
        let port = try server.start(port: 0)

        let conn = try await offPool { try RawHTTPConnection(port: port) }
        try await offPool { try conn.send(Data("GET /v1/events?type=process.* HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) }
        // Emit until the subscriber is attached and an event arrives; the filter drops other types.
        let received = try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                try await offPool {
                    var text = ""
                    let deadline = Date().addingTimeInterval(10)
                    while Date() < deadline, !text.contains("process.spawned") {
                        let chunk = try conn.receive()
                        if chunk.isEmpty { break }
                        text += String(decoding: chunk, as: UTF8.self)
                    }
                    return text
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    _ = bus.emit("memory.set", source: "test", data: ["k": "v"])
                    _ = bus.emit("process.spawned", source: "test", data: ["id": "p1"])
                    try await Task.sleep(for: .milliseconds(20))
                }
                return ""
            }
            let first = try await group.next() ?? ""
            group.cancelAll()
            return first
        }
        #expect(received.contains("HTTP/1.1 200"))
        #expect(received.contains("text/event-stream"))
        #expect(received.contains("event: process.spawned"))
        #expect(!received.contains("memory.set"))

        conn.closeNow()
        let deadline = ContinuousClock.now + .seconds(10)
        while !terminated.isSet && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(terminated.isSet)
        await server.stop()
    }

    @Test func stopEndsOpenStreams() async throws {
        var router = Router()
        router.get("/v1/events") { _ in
            .eventStream(AsyncStream { c in c.yield(SSE.frame(data: "hello", event: "greeting")) })
        }
        let server = HTTPServer(handler: router.handle)
        let port = try server.start(port: 0)
        let conn = try await offPool { try RawHTTPConnection(port: port) }
        defer { conn.closeNow() }
        try await offPool { try conn.send(Data("GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) }
        let first = try await offPool { () -> String in
            var text = ""
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, !text.contains("data: hello") {
                let chunk = try conn.receive()
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return text
        }
        #expect(first.contains("data: hello"))
        await server.stop()
        let rest = try await offPool { () -> Bool in
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline { if try conn.receive().isEmpty { return true } }
            return false
        }
        #expect(rest)
    }

    @Test func sseFraming() {
        let frame = String(decoding: SSE.frame(data: "a\nb", event: "x.y", id: "7"), as: UTF8.self)
        #expect(frame == "id: 7\nevent: x.y\ndata: a\ndata: b\n\n")
    }
}
