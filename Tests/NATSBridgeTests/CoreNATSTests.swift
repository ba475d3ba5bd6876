import AgentVMTestKit
import Foundation
import NATSBridge
import Testing
import Transport

@Suite struct CoreNATSTests {
    @Test func publishSubscribeWithWildcards() async throws {
        let server = try NATSServerFixture.started(jetStream: false)
        defer { server.stop() }
        let nc = try await connect(server)
        defer { nc.close() }
        let star = try nc.subscribe("orders.*.created")
        let tail = try nc.subscribe("orders.>")
        let exact = try nc.subscribe("orders.eu.created")
        let other = try nc.subscribe("invoices.>")
        try await nc.flush(timeout: .seconds(5))
        try nc.publish("orders.eu.created", payload: Data("a"))
        try nc.publish("orders.us.deleted", payload: Data("b"))
        try await nc.flush(timeout: .seconds(5))
        #expect(await collect(star.messages, count: 1).map(\.payload) == [Data("a")])
        #expect(await collect(tail.messages, count: 2).map(\.subject) == ["orders.eu.created", "orders.us.deleted"])
        #expect(await collect(exact.messages, count: 1).first?.subject == "orders.eu.created")
        other.unsubscribe()
        #expect(await collect(other.messages, count: 1).isEmpty)
    }

    @Test func invalidSubjectsAreRejected() async throws {
        let server = try NATSServerFixture.started(jetStream: false)
        defer { server.stop() }
        let nc = try await connect(server)
        defer { nc.close() }
        #expect(throws: TransportError.invalidSubject("a.*")) { try nc.publish("a.*", payload: Data()) }
        #expect(throws: TransportError.invalidSubject("a..b")) { _ = try nc.subscribe("a..b") }
    }

    @Test func queueGroupDeliversEachMessageOnce() async throws {
        let server = try NATSServerFixture.started(jetStream: false)
        defer { server.stop() }
        let nc = try await connect(server)
        defer { nc.close() }
        let members = try (0..<3).map { _ in try nc.subscribe("work", queue: "workers", pendingLimits: nil) }
        try await nc.flush(timeout: .seconds(5))
        let total = 300
        for i in 0..<total { try nc.publish("work", payload: Data(String(i))) }
        try await nc.flush(timeout: .seconds(5))
        let counted = await waitUntil(deadline: .seconds(10)) {
            members.reduce(0) { $0 + Int($1.stats.delivered) } >= total
        }
        #expect(counted)
        for m in members { m.unsubscribe() }
        var seen: [String] = []
        for m in members { for await msg in m.messages { seen.append(String(decoding: msg.payload, as: UTF8.self)) } }
        #expect(seen.count == total)
        #expect(Set(seen).count == total)
    }

    @Test func requestReplyNoRespondersAndTimeout() async throws {
        let server = try NATSServerFixture.started(jetStream: false)
        defer { server.stop() }
        let nc = try await connect(server)
        defer { nc.close() }
        await #expect(throws: TransportError.noResponders(subject: "svc.echo")) {
            _ = try await nc.request("svc.echo", payload: Data("x"), timeout: .seconds(5))
        }
        let responder = try nc.subscribe("svc.echo")
        let serving = Task {
            for await m in responder.messages { try? nc.respond(to: m, payload: m.payload + Data("!")) }
        }
        defer { serving.cancel() }
        try await nc.flush(timeout: .seconds(5))
        let reply = try await nc.request("svc.echo", payload: Data("hi"), timeout: .seconds(5))
        #expect(reply.payload == Data("hi!"))

        // A responder that never answers: the request times out.
        let silent = try nc.subscribe("svc.silent")
        defer { silent.unsubscribe() }
        try await nc.flush(timeout: .seconds(5))
        await #expect(throws: TransportError.timeout(subject: "svc.silent")) {
            _ = try await nc.request("svc.silent", payload: Data(), timeout: .milliseconds(200))
        }
    }

    @Test func closingEndsStreamsAndFailsCalls() async throws {
        let server = try NATSServerFixture.started(jetStream: false)
        defer { server.stop() }
        let nc = try await connect(server)
        let sub = try nc.subscribe("x")
        let states = nc.stateUpdates()
        nc.close()
        #expect(await collect(sub.messages, count: 1).isEmpty)
        var seen: [TransportState] = []
        for await s in states { seen.append(s) }
        #expect(seen.last == .closed)
        #expect(nc.state == .closed)
        #expect(throws: TransportError.closed) { try nc.publish("x", payload: Data()) }
        await #expect(throws: TransportError.closed) {
            _ = try await nc.request("x", payload: Data(), timeout: .seconds(1))
        }
    }

    @Test func connectFailureNamesTheServer() async throws {
        let port = try FreePort.next()
        var options = testOptions(["nats://127.0.0.1:\(port)"])
        options.connectTimeout = .milliseconds(500)
        do {
            _ = try await NATSConnection.connect(options)
            Issue.record("connect to a closed port succeeded")
        } catch {
            #expect(String(describing: error).contains("127.0.0.1:\(port)"))
        }
    }
}

@Suite struct NATSLimitsAndAuthTests {
    @Test func pendingLimitDropsAndCountsForASlowConsumer() async throws {
        let server = try NATSServerFixture.started(jetStream: false)
        defer { server.stop() }
        let nc = try await connect(server)
        defer { nc.close() }
        let slow = try nc.subscribe("burst", queue: nil, pendingLimits: NATSOptions.PendingLimits(messages: 10, bytes: 1 << 20))
        try await nc.flush(timeout: .seconds(5))
        for i in 0..<1_000 { try nc.publish("burst", payload: Data(String(i))) }
        try await nc.flush(timeout: .seconds(5))
        // Nobody reads the stream: everything past the limit is dropped and counted.
        #expect(await waitUntil { slow.stats.dropped + slow.stats.delivered >= 1_000 })
        #expect(slow.stats.dropped >= 980)
        let kept = await collect(slow.messages, count: 10)
        #expect(kept.map(\.payload) == (0..<10).map { Data(String($0)) })
    }

    @Test func userPasswordAndTokenCredentialsArePassedThrough() async throws {
        let users = try NATSServerFixture.started(jetStream: false, extraArguments: ["--user", "agent", "--pass", "s3cret"])
        defer { users.stop() }
        var good = testOptions([users.url])
        good.credentials = .userPassword(user: "agent", password: "s3cret")
        let nc = try await NATSConnection.connect(good)
        #expect(nc.state == .connected)
        nc.close()
        var bad = testOptions([users.url])
        bad.credentials = .userPassword(user: "agent", password: "wrong")
        await #expect(throws: NATSError.self) { _ = try await NATSConnection.connect(bad) }

        let tokens = try NATSServerFixture.started(jetStream: false, extraArguments: ["--auth", "tok-123"])
        defer { tokens.stop() }
        var withToken = testOptions([tokens.url])
        withToken.credentials = .token("tok-123")
        let tc = try await NATSConnection.connect(withToken)
        defer { tc.close() }
        #expect(tc.state == .connected)
        await #expect(throws: NATSError.self) { _ = try await NATSConnection.connect(testOptions([tokens.url])) }
    }

    @Test func missingTLSFilesAreNamedInTheError() async throws {
        var options = testOptions(["tls://127.0.0.1:1"])
        options.tls = NATSOptions.TLS(caFile: "/nonexistent/ca.pem")
        do {
            _ = try await NATSConnection.connect(options)
            Issue.record("connect with a missing CA file succeeded")
        } catch {
            #expect(String(describing: error).contains("/nonexistent/ca.pem"))
        }
    }
}
