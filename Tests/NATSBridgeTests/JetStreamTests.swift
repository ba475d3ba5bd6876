import AgentVMTestKit
import Foundation
import NATSBridge
import Testing
import Transport

@Suite struct JetStreamTests {
    @Test func publishWithAckAndDurablePullConsumer() async throws {
        let server = try NATSServerFixture.started()
        defer { server.stop() }
        let nc = try await connect(server)
        defer { nc.close() }
        let js = try JetStream(nc)
        var config = StreamConfig(name: "EVENTS", subjects: ["events.>"])
        config.duplicateWindow = .seconds(60)
        let info = try await js.createOrUpdateStream(config)
        #expect(info.messages == 0)
        // Creating it again is an update, not an error.
        try await js.createOrUpdateStream(config)

        var sequences: [UInt64] = []
        for i in 1...5 {
            let ack = try await js.publish("events.created", payload: Data("e\(i)"))
            #expect(ack.stream == "EVENTS")
            sequences.append(ack.sequence)
        }
        #expect(sequences == [1, 2, 3, 4, 5])
        let dup1 = try await js.publish("events.created", payload: Data("once"), options: PublishOptions(messageID: "m-1"))
        let dup2 = try await js.publish("events.created", payload: Data("once"), options: PublishOptions(messageID: "m-1"))
        #expect(!dup1.duplicate && dup2.duplicate && dup1.sequence == dup2.sequence)
        await #expect(throws: NATSError.self) {
            _ = try await js.publish("events.created", payload: Data(), options: PublishOptions(expectedLastSequence: 1))
        }
        #expect(try await js.streamInfo("EVENTS").lastSequence == 6)

        let consumer = try await js.pullConsumer(stream: "EVENTS", config: ConsumerConfig(durable: "worker"))
        let first = try await consumer.fetch(batch: 4, timeout: .seconds(5))
        #expect(first.map(\.payload) == ["e1", "e2", "e3", "e4"].map { Data($0) })
        for m in first { try await m.ack() }
        consumer.close()

        // The durable consumer remembers its position across a new binding.
        let again = try await js.pullConsumer(stream: "EVENTS", config: ConsumerConfig(durable: "worker"))
        let rest = try await again.fetch(batch: 10, timeout: .milliseconds(500))
        #expect(rest.map(\.streamSequence) == [5, 6])
        for m in rest { try await m.ack() }
        #expect(try await again.fetch(batch: 1, timeout: .milliseconds(200)).isEmpty)
        try await js.deleteConsumer(stream: "EVENTS", durable: "worker")
        try await js.deleteStream("EVENTS")
        await #expect(throws: NATSError.self) { _ = try await js.streamInfo("EVENTS") }
    }

    @Test func unacknowledgedMessageIsRedelivered() async throws {
        let server = try NATSServerFixture.started()
        defer { server.stop() }
        let nc = try await connect(server)
        defer { nc.close() }
        let js = try JetStream(nc)
        try await js.createOrUpdateStream(StreamConfig(name: "JOBS", subjects: ["jobs"]))
        _ = try await js.publish("jobs", payload: Data("job"))
        var cc = ConsumerConfig(durable: "runner")
        cc.ackWait = .milliseconds(300)
        let consumer = try await js.pullConsumer(stream: "JOBS", config: cc)
        let first = try await consumer.fetch(batch: 1, timeout: .seconds(5))
        #expect(first.first?.deliveries == 1)
        try await first.first?.nak()
        var redelivered: [JetStreamMessage] = []
        let got = await waitUntil(deadline: .seconds(10)) {
            redelivered = (try? await consumer.fetch(batch: 1, timeout: .milliseconds(200))) ?? []
            return !redelivered.isEmpty
        }
        #expect(got)
        #expect(redelivered.first?.deliveries == 2)
        try await redelivered.first?.ack()
    }

    @Test func keyValuePutGetCompareAndSwapDelete() async throws {
        let server = try NATSServerFixture.started()
        defer { server.stop() }
        let nc = try await connect(server)
        defer { nc.close() }
        let js = try JetStream(nc)
        var config = KeyValueConfig(bucket: "checkpoints")
        config.history = 5
        let kv = try await js.createKeyValue(config)
        #expect(try await kv.get("p1") == nil)

        let r1 = try await kv.put("p1", Data("v1"))
        let e1 = try await kv.get("p1")
        #expect(e1?.value == Data("v1"))
        #expect(e1?.revision == r1)
        #expect(e1?.operation == .put)

        let r2 = try await kv.update("p1", Data("v2"), expectedRevision: r1)
        #expect(r2 > r1)
        // A writer holding the old revision loses: a typed conflict, and the value is unchanged.
        await #expect(throws: NATSError.self) {
            try await kv.update("p1", Data("stale"), expectedRevision: r1)
        }
        do {
            try await kv.update("p1", Data("stale"), expectedRevision: r1)
            Issue.record("stale update succeeded")
        } catch NATSError.revisionMismatch(let key, let expected, _) {
            #expect(key == "p1" && expected == r1)
        }
        #expect(try await kv.get("p1")?.value == Data("v2"))

        // create only when absent.
        _ = try await kv.create("p2", Data("new"))
        do {
            try await kv.create("p2", Data("again"))
            Issue.record("create of an existing key succeeded")
        } catch NATSError.revisionMismatch(let key, let expected, _) {
            #expect(key == "p2" && expected == 0)
        }

        try await kv.delete("p1")
        #expect(try await kv.get("p1") == nil)

        let bound = try await js.keyValue(bucket: "checkpoints")
        #expect(try await bound.get("p2")?.value == Data("new"))
        await #expect(throws: NATSError.self) { _ = try await js.keyValue(bucket: "missing") }
        try await js.deleteKeyValue(bucket: "checkpoints")
    }

    @Test func keyValueWatchSeesInitialValuesThenLiveChanges() async throws {
        let server = try NATSServerFixture.started()
        defer { server.stop() }
        let nc = try await connect(server)
        defer { nc.close() }
        let js = try JetStream(nc)
        let kv = try await js.createKeyValue(KeyValueConfig(bucket: "members"))
        try await kv.put("node.1", Data("up"))
        try await kv.put("other", Data("x"))
        let watch = try kv.watch("node.*")
        let events = Collector(watch.events)
        let initial = await events.wait(for: 2)
        #expect(initial.count == 2)
        #expect(initial.first.flatMap(Self.key) == "node.1")
        #expect(initial.last == .initialValuesDone)
        try await kv.put("node.2", Data("up"))
        try await kv.delete("node.1")
        let all = await events.wait(for: 4)
        guard all.count == 4, case .entry(let put) = all[2], case .entry(let del) = all[3] else {
            Issue.record("live events missing: \(all)")
            return
        }
        #expect(put.key == "node.2" && put.value == Data("up") && put.operation == .put)
        #expect(del.key == "node.1" && del.operation == .delete)
        watch.stop()
        #expect(await events.waitFinished())
    }

    @Test func closingTheConnectionEndsAWatch() async throws {
        let server = try NATSServerFixture.started()
        defer { server.stop() }
        let nc = try await connect(server)
        let js = try JetStream(nc)
        let kv = try await js.createKeyValue(KeyValueConfig(bucket: "b"))
        let watch = try kv.watch()
        let events = Collector(watch.events)
        #expect(await events.wait(for: 1) == [.initialValuesDone])
        nc.close()
        #expect(await events.waitFinished())
    }

    private static func key(_ e: KeyValueWatchEvent) -> String? {
        if case .entry(let entry) = e { return entry.key }
        return nil
    }
}

@Suite struct JetStreamRecoveryTests {
    @Test func keyValueSurvivesAServerRestartAndTheHandleKeepsWorking() async throws {
        let server = try NATSServerFixture.started()
        defer { server.stop() }
        let nc = try await connect(server)
        defer { nc.close() }
        let js = try JetStream(nc)
        let kv = try await js.createKeyValue(KeyValueConfig(bucket: "durable"))
        let rev = try await kv.put("p1", Data("before"))
        server.stop()
        #expect(await waitUntil { nc.state == .disconnected })
        try server.start()
        #expect(await waitUntil(deadline: .seconds(15)) { nc.state == .reconnected })
        // JetStream may need a moment after the restart to load its store: retry reads until then.
        var entry: KeyValueEntry?
        _ = await waitUntil(deadline: .seconds(15), poll: .milliseconds(100)) {
            entry = try? await kv.get("p1")
            return entry != nil
        }
        #expect(entry?.value == Data("before"))
        #expect(entry?.revision == rev)
        let next = try await kv.update("p1", Data("after"), expectedRevision: rev)
        #expect(next > rev)
    }

    @Test func replicatedKeyValueOnAThreeServerJetStreamCluster() async throws {
        let cluster = try NATSClusterFixture.started(size: 3, jetStream: true)
        defer { cluster.stop() }
        let nc = try await NATSConnection.connect(testOptions([cluster.servers[0].url]))
        defer { nc.close() }
        let js = try JetStream(nc)
        var config = KeyValueConfig(bucket: "replicated")
        config.replicas = 3
        // The JetStream meta leader is elected after the routes form: retry creation until then.
        var kv: KeyValueBucket?
        _ = await waitUntil(deadline: .seconds(30), poll: .milliseconds(250)) {
            kv = try? await js.createKeyValue(config)
            return kv != nil
        }
        guard let kv else { Issue.record("no JetStream leader in the cluster"); return }
        let rev = try await kv.put("k", Data("v"))
        // Read it back through another server of the cluster.
        let other = try await NATSConnection.connect(testOptions([cluster.servers[2].url]))
        defer { other.close() }
        let remote = try await JetStream(other).keyValue(bucket: "replicated")
        #expect(try await remote.get("k")?.revision == rev)
    }
}
