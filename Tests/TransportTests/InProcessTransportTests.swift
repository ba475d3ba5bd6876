import Foundation
import Testing
@testable import Transport

@Suite struct SubjectTests {
    @Test func wildcards() {
        #expect(Subject.matches(filter: "a.*.c", subject: "a.b.c"))
        #expect(!Subject.matches(filter: "a.*.c", subject: "a.b.d"))
        #expect(Subject.matches(filter: "a.>", subject: "a.b.c"))
        #expect(!Subject.matches(filter: "a.>", subject: "a"))
        #expect(!Subject.matches(filter: "a.b", subject: "a.b.c"))
        #expect(Subject.isValidFilter("a.*.>"))
        #expect(!Subject.isValidFilter("a.>.b"))
        #expect(!Subject.isValidPublish("a.*"))
        #expect(!Subject.isValidPublish("a..b"))
        #expect(!Subject.isValidPublish(""))
    }
}

@Suite struct InProcessTransportTests {
    @Test func publishReachesMatchingSubscribers() async throws {
        let t = InProcessTransport()
        let a = try t.subscribe("x.*")
        let b = try t.subscribe("x.y")
        let c = try t.subscribe("z")
        try t.publish("x.y", payload: Data("hi".utf8))
        var ia = a.messages.makeAsyncIterator()
        var ib = b.messages.makeAsyncIterator()
        #expect(await ia.next()?.payload == Data("hi".utf8))
        #expect(await ib.next()?.subject == "x.y")
        c.unsubscribe()
        var ic = c.messages.makeAsyncIterator()
        #expect(await ic.next() == nil)
    }

    @Test func queueGroupDeliversToOneMember() async throws {
        let t = InProcessTransport()
        let a = try t.subscribe("work", queue: "g")
        let b = try t.subscribe("work", queue: "g")
        for i in 0..<10 { try t.publish("work", payload: Data([UInt8(i)])) }
        a.unsubscribe(); b.unsubscribe()
        var n = 0
        for await _ in a.messages { n += 1 }
        for await _ in b.messages { n += 1 }
        #expect(n == 10)
    }

    @Test func requestReplyAndNoResponders() async throws {
        let t = InProcessTransport()
        await #expect(throws: TransportError.noResponders(subject: "svc")) {
            _ = try await t.request("svc", payload: Data(), timeout: .seconds(1))
        }
        let server = try t.subscribe("svc")
        let task = Task {
            for await m in server.messages { try? t.respond(to: m, payload: Data("pong".utf8)) }
        }
        let reply = try await t.request("svc", payload: Data("ping".utf8), timeout: .seconds(5))
        #expect(reply.payload == Data("pong".utf8))
        server.unsubscribe()
        task.cancel()
    }

    @Test func oversizedAndInvalidAreRejected() throws {
        let t = InProcessTransport(maxPayload: 4)
        #expect(throws: TransportError.payloadTooLarge(size: 5, limit: 4)) {
            try t.publish("a", payload: Data(count: 5))
        }
        #expect(throws: TransportError.invalidSubject("a.*")) { try t.publish("a.*", payload: Data()) }
    }
}
