import Foundation
import Testing
@testable import ClusterCore

@Suite struct BrokerTests {
    let events = EventBus()

    @Test func pubsubReachesEverySubscriberAndKeepsHistoryWithoutOne() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "news", type: .pubsub))
        try broker.publish("news", from: "a", payload: "nobody listens")
        #expect(broker.deadLetters().isEmpty)
        #expect(broker.history("news").map(\.payload) == ["nobody listens"])

        let x = Recorder<JSONValue>(), y = Recorder<JSONValue>()
        try broker.subscribe("news", subscriber: "x") { x.append($0.payload) }
        try broker.subscribe("news", subscriber: "y") { y.append($0.payload) }
        try broker.publish("news", from: "a", payload: 1)
        try broker.publish("news", from: "a", payload: 2)
        #expect(x.all == [1, 2])
        #expect(y.all == [1, 2])
        let stats = try #require(broker.stats().channels.first { $0.name == "news" })
        #expect(stats.published == 3)
        #expect(stats.delivered == 4)
        #expect(stats.subscribers == 2)
        #expect(stats.historySize == 3)
    }

    @Test func directGoesOnlyToTheNamedSubscriber() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "dm", type: .direct))
        let a = Recorder<JSONValue>(), b = Recorder<JSONValue>()
        try broker.subscribe("dm", subscriber: "a") { a.append($0.payload) }
        try broker.subscribe("dm", subscriber: "b") { b.append($0.payload) }
        try broker.publish("dm", from: "s", payload: "for b", to: "b")
        #expect(a.all.isEmpty)
        #expect(b.all == ["for b"])

        try broker.publish("dm", from: "s", payload: "for c", to: "c")
        try broker.publish("dm", from: "s", payload: "for nobody")
        let letters = broker.deadLetters()
        #expect(letters.map(\.message.payload) == ["for c", "for nobody"])
        #expect(letters.allSatisfy { $0.reason.hasPrefix(DeadLetterReason.noSubscriber) })
        #expect(letters[0].reason.contains("'c'"))
    }

    @Test func queueGivesEachMessageToExactlyOneSubscriberRoundRobin() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "jobs", type: .queue))
        try broker.publish("jobs", from: "s", payload: "early")
        #expect(broker.deadLetters().first?.reason.hasPrefix(DeadLetterReason.noSubscriber) == true)

        let got = Recorder<String>()
        for name in ["w1", "w2", "w3"] {
            try broker.subscribe("jobs", subscriber: name) { m in got.append("\(name):\(m.payload)") }
        }
        for i in 0..<6 { try broker.publish("jobs", from: "s", payload: .number(Double(i))) }
        #expect(got.all == ["w1:0", "w2:1", "w3:2", "w1:3", "w2:4", "w3:5"])

        broker.unsubscribe("jobs", subscriber: "w2")
        for i in 6..<10 { try broker.publish("jobs", from: "s", payload: .number(Double(i))) }
        #expect(got.count == 10)
        #expect(!got.all.dropFirst(6).contains { $0.hasPrefix("w2") })
    }

    @Test func historyKeepsTheNewestUpToTheLimit() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "h", historyLimit: 3))
        try broker.createChannel(ChannelConfig(name: "none", historyLimit: 0))
        for i in 1...5 {
            try broker.publish("h", from: "s", payload: .number(Double(i)))
            try broker.publish("none", from: "s", payload: .number(Double(i)))
        }
        #expect(broker.history("h").map(\.payload) == [3, 4, 5])
        #expect(broker.history("h", limit: 2).map(\.payload) == [4, 5])
        #expect(broker.history("none").isEmpty)
        #expect(broker.history("missing").isEmpty)
    }

    @Test func failingSinkIsRetriedThenDeadLettered() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "c", maxDeliveryAttempts: 3))
        let broken = FlakySink(failures: .max)
        let flaky = FlakySink(failures: 2)
        let seen = Recorder<Int>()
        try broker.subscribe("c", subscriber: "broken") { try broken.deliver($0) }
        try broker.subscribe("c", subscriber: "flaky") { m in
            try flaky.deliver(m)
            seen.append(m.attempts)
        }
        try broker.publish("c", from: "s", payload: "x")
        #expect(broken.callCount == 3)
        #expect(flaky.callCount == 3)
        #expect(seen.all == [3])
        let letters = broker.deadLetters()
        #expect(letters.count == 1)
        #expect(letters[0].reason.hasPrefix(DeadLetterReason.deliveryFailed))
        #expect(letters[0].reason.contains("'broken'"))
        #expect(letters[0].reason.contains("sink failure #3"))
        #expect(letters[0].message.attempts == 3)
        let stats = try #require(broker.stats().channels.first { $0.name == "c" })
        #expect(stats.failedDeliveries == 5)
        #expect(stats.delivered == 1)
        #expect(stats.deadLettered == 1)
    }

    @Test func expiredMessagesAreDeadLetteredNotDelivered() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "t"))
        let got = Recorder<JSONValue>()
        try broker.subscribe("t", subscriber: "x") { got.append($0.payload) }
        let m = try broker.publish("t", from: "s", payload: "stale", ttl: .zero)
        try broker.publish("t", from: "s", payload: "fresh", ttl: .seconds(3600))
        #expect(got.all == ["fresh"])
        #expect(m.expiresAt != nil)
        let letters = broker.deadLetters()
        #expect(letters.map(\.message.payload) == ["stale"])
        #expect(letters[0].reason.hasPrefix(DeadLetterReason.expired))
    }

    @Test func schemaRejectsAViolatingPublishWithItsViolations() throws {
        let broker = MessageBroker(events: events)
        let schema = try JSONSchema([
            "type": "object", "required": ["n"], "properties": ["n": ["type": "number"]],
        ])
        try broker.createChannel(ChannelConfig(name: "typed", schema: schema))
        let got = Recorder<JSONValue>()
        try broker.subscribe("typed", subscriber: "x") { got.append($0.payload) }
        do {
            try broker.publish("typed", from: "s", payload: ["n": "seven"])
            Issue.record("a violating publish was accepted")
        } catch {
            guard case .schemaViolation(let channel, let violations) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(channel == "typed")
            #expect(violations.contains { $0.path.contains("n") })
            #expect(error.description.contains("typed"))
        }
        #expect(throws: BrokerError.self) { try broker.publish("typed", from: "s", payload: [:]) }
        try broker.publish("typed", from: "s", payload: ["n": 7])
        #expect(got.all == [["n": 7]])
        #expect(broker.history("typed").count == 1)
        #expect(broker.stats().channels.first { $0.name == "typed" }?.published == 1)
    }

    @Test func deadLetterChannelIsSubscribable() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "q", type: .queue))
        let letters = Recorder<BrokerMessage>()
        try broker.subscribe(MessageBroker.deadLetterChannel, subscriber: "watcher") { letters.append($0) }
        let sent = try broker.publish("q", from: "s", payload: "lost", priority: 4)
        let got = try #require(letters.all.first)
        #expect(got.channel == MessageBroker.deadLetterChannel)
        #expect(got.priority == 4)
        #expect(got.payload["reason"]?.stringValue?.hasPrefix(DeadLetterReason.noSubscriber) == true)
        #expect(got.payload["message"]?["payload"] == "lost")
        #expect(got.payload["message"]?["id"] == .number(Double(sent.id)))
        #expect(broker.history(MessageBroker.deadLetterChannel).count == 1)
        #expect(broker.channels().map(\.name).contains(MessageBroker.deadLetterChannel))
        #expect(throws: BrokerError.invalidChannelName(MessageBroker.deadLetterChannel)) {
            try broker.publish(MessageBroker.deadLetterChannel, from: "s", payload: 1)
        }
        broker.deleteChannel(MessageBroker.deadLetterChannel)
        #expect(broker.channel(MessageBroker.deadLetterChannel) != nil)
    }

    @Test func failingDeadLetterSubscriberDoesNotLoop() throws {
        let broker = MessageBroker(events: events)
        let sink = FlakySink(failures: .max)
        try broker.subscribe(MessageBroker.deadLetterChannel, subscriber: "bad") { try sink.deliver($0) }
        broker.deadLetter(BrokerMessage(id: broker.nextMessageID(), from: "k", payload: 1), reason: "test")
        #expect(sink.callCount == 3)
        #expect(broker.deadLetters().count == 1)
        #expect(broker.stats().failedDeliveries == 3)
    }

    @Test func kernelReportedDeadLettersCountAgainstTheirChannel() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "c"))
        let m = BrokerMessage(id: broker.nextMessageID(), channel: "c", from: "k", to: "p1", payload: 1, attempts: 3)
        broker.deadLetter(m, reason: "\(DeadLetterReason.deliveryFailed) 3 times to 'p1': handler threw")
        broker.deadLetter(BrokerMessage(id: broker.nextMessageID(), from: "k", to: "p2", payload: 2), reason: "no process")
        #expect(broker.stats().channels.first { $0.name == "c" }?.deadLettered == 1)
        #expect(broker.stats().deadLettered == 2)
        #expect(broker.deadLetters(limit: 1).map(\.reason) == ["no process"])
    }

    @Test func deadLetterQueueIsBounded() throws {
        let broker = MessageBroker(events: events, deadLetterLimit: 2)
        for i in 1...3 {
            broker.deadLetter(BrokerMessage(id: UInt64(i), from: "k", payload: .number(Double(i))), reason: "r\(i)")
        }
        #expect(broker.deadLetters().map(\.reason) == ["r2", "r3"])
        let stats = broker.stats()
        #expect(stats.deadLetterQueueSize == 2)
        #expect(stats.deadLettersDropped == 1)
        #expect(stats.deadLettered == 3)
    }

    @Test func channelLifecycleAndErrors() throws {
        let broker = MessageBroker(events: events)
        let config = ChannelConfig(name: "c", type: .queue, historyLimit: 5)
        try broker.createChannel(config)
        try broker.createChannel(config)   // same config: no-op
        #expect(throws: BrokerError.channelExists("c")) { try broker.createChannel(ChannelConfig(name: "c")) }
        for bad in ["", "__mine", "has space", "tab\tname", String(repeating: "x", count: 256)] {
            #expect(throws: BrokerError.invalidChannelName(bad)) { try broker.createChannel(ChannelConfig(name: bad)) }
        }
        #expect(throws: BrokerError.self) { try broker.createChannel(ChannelConfig(name: "h", historyLimit: -1)) }
        #expect(throws: BrokerError.self) { try broker.createChannel(ChannelConfig(name: "m", maxDeliveryAttempts: 0)) }
        #expect(throws: BrokerError.channelNotFound("nope")) { try broker.publish("nope", from: "s", payload: 1) }
        #expect(throws: BrokerError.channelNotFound("nope")) { try broker.subscribe("nope", subscriber: "x") { _ in } }
        #expect(broker.channels().map(\.name) == [MessageBroker.deadLetterChannel, "c"])
        broker.deleteChannel("c")
        broker.deleteChannel("c")
        #expect(broker.channel("c") == nil)
        #expect(BrokerError.channelNotFound("nope").description == "channel 'nope' does not exist")
    }

    @Test func resubscribingReplacesTheSinkAndUnsubscribeAllLeavesEveryChannel() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "a"))
        try broker.createChannel(ChannelConfig(name: "b"))
        let first = Recorder<Int>(), second = Recorder<Int>()
        try broker.subscribe("a", subscriber: "p") { _ in first.append(1) }
        try broker.subscribe("a", subscriber: "p") { _ in second.append(1) }
        try broker.subscribe("b", subscriber: "p") { _ in second.append(2) }
        #expect(broker.subscribers("a") == ["p"])
        try broker.publish("a", from: "s", payload: 0)
        #expect(first.all.isEmpty && second.all == [1])
        broker.unsubscribeAll(subscriber: "p")
        #expect(broker.subscribers("a").isEmpty && broker.subscribers("b").isEmpty)
    }

    @Test func aSinkMayCallBackIntoTheBroker() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "in"))
        try broker.createChannel(ChannelConfig(name: "out"))
        let out = Recorder<JSONValue>()
        try broker.subscribe("out", subscriber: "o") { out.append($0.payload) }
        try broker.subscribe("in", subscriber: "relay") { m in
            try broker.publish("out", from: "relay", payload: m.payload)
            _ = broker.stats()
        }
        try broker.publish("in", from: "s", payload: "hop")
        #expect(out.all == ["hop"])
    }

    @Test func concurrentPublishersAreCountedExactly() async throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "c", type: .queue, historyLimit: 10))
        let got = Recorder<UInt64>()
        try broker.subscribe("c", subscriber: "w1") { got.append($0.id) }
        try broker.subscribe("c", subscriber: "w2") { got.append($0.id) }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { for _ in 0..<500 { _ = try? broker.publish("c", from: "s", payload: 1) } }
            }
        }
        #expect(Set(got.all).count == 2_000)
        let stats = try #require(broker.stats().channels.first { $0.name == "c" })
        #expect(stats.published == 2_000 && stats.delivered == 2_000 && stats.historySize == 10)
    }

    @Test func emitsChannelAndMessageEvents() async throws {
        let broker = MessageBroker(events: events)
        let seen = Recorder<String>()
        let sub = events.on("*") { seen.append($0.type) }
        defer { sub.cancel() }
        try broker.createChannel(ChannelConfig(name: "e", type: .queue))
        try broker.publish("e", from: "s", payload: "dead")
        try broker.subscribe("e", subscriber: "w") { _ in }
        try broker.publish("e", from: "s", payload: "ok")
        broker.deleteChannel("e")
        let wanted = ["channel.created", "message.published", "message.deadlettered", "message.delivered", "channel.deleted"]
        let all = await eventually { Set(wanted).isSubset(of: Set(seen.all)) }
        #expect(all, "saw \(seen.all)")
        #expect(seen.all.filter { $0.hasPrefix("channel.") || $0.hasPrefix("message.") } ==
            ["channel.created", "message.published", "message.deadlettered", "message.published",
             "message.delivered", "channel.deleted"])
    }

    @Test func aSubscriberThatIsBehindReceivesHigherPriorityFirst() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "work", type: .direct))
        let inbox = broker.makeMailbox(owner: "p1")
        try broker.subscribe("work", subscriber: "p1") { m in _ = try inbox.push(m) }
        for (payload, priority) in [("low", 0), ("urgent", 9), ("normal", 1), ("low2", 0), ("urgent2", 9)] {
            try broker.publish("work", from: "s", payload: .string(payload), priority: priority, to: "p1")
        }
        try broker.publish("work", from: "s", payload: "stale", priority: 99, to: "p1", ttl: .seconds(-1))
        var order: [JSONValue] = []
        while let m = inbox.pop() { order.append(m.payload) }
        #expect(order == ["urgent", "urgent2", "normal", "low", "low2"])
        #expect(broker.deadLetters().map(\.message.payload) == ["stale"])
    }

    @Test func aFullMailboxIsAFailedDeliveryThenADeadLetter() throws {
        let broker = MessageBroker(events: events)
        try broker.createChannel(ChannelConfig(name: "c", maxDeliveryAttempts: 2))
        let inbox = broker.makeMailbox(owner: "p1", capacity: 1)
        try broker.subscribe("c", subscriber: "p1") { m in _ = try inbox.push(m) }
        try broker.publish("c", from: "s", payload: "fits")
        try broker.publish("c", from: "s", payload: "overflows")
        #expect(inbox.count == 1)
        let letter = try #require(broker.deadLetters().first)
        #expect(letter.message.payload == "overflows")
        #expect(letter.reason == "delivery failed 2 times to 'p1': mailbox of 'p1' is full")
    }

    @Test func configDecodesWithDefaults() throws {
        let json = #"{"name":"jobs","type":"queue"}"#
        let config = try JSONDecoder().decode(ChannelConfig.self, from: Data(json.utf8))
        #expect(config == ChannelConfig(name: "jobs", type: .queue, historyLimit: 100, maxDeliveryAttempts: 3))
        let round = try JSONDecoder().decode(ChannelConfig.self, from: JSONEncoder().encode(config))
        #expect(round == config)
    }
}
