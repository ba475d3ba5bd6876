import AgentVMTestKit
import Foundation
import NATSBridge
import Testing
import Transport

/// The same behaviour through both transports: what a protocol relies on must not depend on
/// whether it runs in process (embedded node, simulator) or over a real NATS server.
@Suite struct TransportConformanceTests {
    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case inProcess, nats
        var testDescription: String { rawValue }
    }

    /// A transport plus what must be torn down after the test.
    final class Harness: Sendable {
        let transport: any Transport
        private let server: NATSServerFixture?
        private let closeTransport: @Sendable () -> Void

        init(_ kind: Kind) async throws {
            switch kind {
            case .inProcess:
                let t = InProcessTransport()
                transport = t
                server = nil
                closeTransport = { t.close() }
            case .nats:
                let s = try NATSServerFixture.started(jetStream: false)
                let t = try await connect(s)
                transport = t
                server = s
                closeTransport = { t.close() }
            }
        }

        func tearDown() {
            closeTransport()
            server?.stop()
        }
    }

    @Test(arguments: Kind.allCases)
    func publishReachesMatchingSubscribersOnly(_ kind: Kind) async throws {
        let h = try await Harness(kind)
        defer { h.tearDown() }
        let t = h.transport
        let star = try t.subscribe("a.*")
        let tail = try t.subscribe("a.>")
        let none = try t.subscribe("b")
        try await t.flush(timeout: .seconds(5))
        try t.publish("a.x", payload: Data("1"))
        try t.publish("a.x.y", payload: Data("2"))
        try await t.flush(timeout: .seconds(5))
        #expect(await collect(star.messages, count: 1).map(\.payload) == [Data("1")])
        #expect(await collect(tail.messages, count: 2).map(\.payload) == [Data("1"), Data("2")])
        none.unsubscribe()
        #expect(await collect(none.messages, count: 1).isEmpty)
        #expect(throws: TransportError.invalidSubject("a.*")) { try t.publish("a.*", payload: Data()) }
    }

    @Test(arguments: Kind.allCases)
    func queueGroupDeliversEachMessageToExactlyOneMember(_ kind: Kind) async throws {
        let h = try await Harness(kind)
        defer { h.tearDown() }
        let t = h.transport
        let members = try (0..<3).map { _ in try t.subscribe("jobs", queue: "g") }
        let collectors = members.map { Collector($0.messages) }
        try await t.flush(timeout: .seconds(5))
        let total = 90
        for i in 0..<total { try t.publish("jobs", payload: Data(String(i))) }
        try await t.flush(timeout: .seconds(5))
        let all = await waitUntil { collectors.reduce(0) { $0 + $1.all.count } >= total }
        #expect(all)
        let payloads = collectors.flatMap { $0.all.map { String(decoding: $0.payload, as: UTF8.self) } }
        #expect(payloads.count == total)
        #expect(Set(payloads).count == total)
        for m in members { m.unsubscribe() }
    }

    @Test(arguments: Kind.allCases)
    func requestReplyAndNoResponders(_ kind: Kind) async throws {
        let h = try await Harness(kind)
        defer { h.tearDown() }
        let t = h.transport
        await #expect(throws: TransportError.noResponders(subject: "svc.add")) {
            _ = try await t.request("svc.add", payload: Data(), timeout: .seconds(5))
        }
        let service = try t.subscribe("svc.add")
        let serving = Task {
            for await m in service.messages { try? t.respond(to: m, payload: Data("ok:") + m.payload) }
        }
        defer { serving.cancel(); service.unsubscribe() }
        try await t.flush(timeout: .seconds(5))
        let reply = try await t.request("svc.add", payload: Data("1+1"), timeout: .seconds(5))
        #expect(reply.payload == Data("ok:1+1"))
        let inbox = t.newInbox()
        #expect(inbox != t.newInbox())
        #expect(Subject.isValidPublish(inbox))
    }
}
