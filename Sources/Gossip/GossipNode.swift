import Foundation
import Transport

/// The shell around `GossipMembership`: it owns the transport, the clock and the random source,
/// drives ticks, decodes what arrives defensively, and performs the core's directives. It holds no
/// protocol logic of its own.
public actor GossipNode {
    /// This node.
    public nonisolated let id: NodeID
    /// Subjects of this node's cluster.
    public nonisolated let subjects: GossipSubjects
    /// Every membership change this node observes, in order. Ends when the node stops.
    public nonisolated let changes: AsyncStream<MemberChange>

    private var core: GossipMembership
    private let transport: any Transport
    private let log: @Sendable (String) -> Void
    private let continuation: AsyncStream<MemberChange>.Continuation
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant
    private var rng = SystemRandomNumberGenerator()
    private var tasks: [Task<Void, Never>] = []
    private var subscriptions: [TransportSubscription] = []
    private var started = false
    private var stopped = false

    /// Messages dropped because they were malformed, oversized or of another version.
    public private(set) var droppedMessages = 0
    /// `droppedMessages` by `GossipDecodeError.reason` (`malformed`, `oversized`, `wrong_version`).
    public private(set) var droppedByReason: [String: Int] = [:]
    /// Publishes the transport refused (disconnected, too large, closed).
    public private(set) var sendFailures = 0

    /// A node named `id` in `cluster`. `incarnation` defaults to the wall clock in milliseconds, so a
    /// restarted process is a new life at once. `log` receives one line per dropped message or
    /// failed send.
    public init(id: NodeID, cluster: String, transport: any Transport, settings: GossipSettings = GossipSettings(),
                health: MemberHealth = MemberHealth(), incarnation: UInt64? = nil, seeds: [NodeID] = [],
                log: @escaping @Sendable (String) -> Void = { _ in }) throws {
        guard id.isValid else { throw GossipNodeError.invalidNodeID(id.rawValue) }
        guard NodeID.isSubjectToken(cluster) else { throw GossipNodeError.invalidClusterName(cluster) }
        let inc = incarnation ?? UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        self.id = id
        self.subjects = GossipSubjects(cluster: cluster)
        self.core = GossipMembership(id: id, settings: settings, health: health, incarnation: inc, seeds: seeds)
        self.transport = transport
        self.log = log
        self.origin = ContinuousClock().now
        (changes, continuation) = AsyncStream<MemberChange>.makeStream(bufferingPolicy: .bufferingNewest(4096))
    }

    /// Subscribes to this node's subject and the announce subject, and starts ticking.
    public func start() throws {
        guard !started else { throw GossipNodeError.alreadyStarted }
        started = true
        do {
            subscriptions = [try transport.subscribe(subjects.node(id)), try transport.subscribe(subjects.announce)]
        } catch {
            for s in subscriptions { s.unsubscribe() }
            subscriptions = []
            throw GossipNodeError.transport("\(error)")
        }
        for sub in subscriptions {
            tasks.append(Task { [weak self] in
                for await message in sub.messages {
                    guard let self else { return }
                    await self.handle(message)
                }
            })
        }
        tasks.append(Task { [weak self] in
            var delay = Duration.zero
            while !Task.isCancelled {
                if delay > .zero {
                    do { try await Task.sleep(for: delay) } catch { return }
                }
                guard let self, let next = await self.runTick() else { return }
                delay = next
            }
        })
    }

    /// Announces a graceful leave (peers record `left`, not dead), then stops.
    public func leave() async {
        if started && !stopped {
            perform(core.leave(now: now()))
            try? await transport.flush(timeout: .seconds(1))
        }
        stop()
    }

    /// Stops without a word, as a crash would: peers will suspect this node, then declare it dead.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        for t in tasks { t.cancel() }
        tasks = []
        for s in subscriptions { s.unsubscribe() }
        subscriptions = []
        continuation.finish()
    }

    /// This node's view: every member it knows, itself included, sorted by id.
    public func members() -> [Member] { core.members }

    /// One member of this node's view.
    public func member(_ id: NodeID) -> Member? { core.member(id) }

    /// The wall-clock time a member's `lastSeen` (a reading of this node's monotonic clock) stands for.
    public func lastSeenDate(of member: Member) -> Date {
        Date(timeIntervalSinceNow: -GossipNode.seconds(now() - member.lastSeen))
    }

    private static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// The core's running counts.
    public func stats() -> GossipStats { core.stats }

    /// Replaces the health this node reports in its next heartbeat.
    public func updateHealth(_ health: MemberHealth) { core.updateHealth(health) }

    private func now() -> Duration { clock.now - origin }

    private func runTick() -> Duration? {
        guard !stopped else { return nil }
        var next: Duration?
        for d in core.tick(now: now(), using: &rng) {
            if case .scheduleTick(let after) = d { next = after } else { perform([d]) }
        }
        return next
    }

    private func handle(_ message: TransportMessage) {
        guard !stopped else { return }
        switch GossipMessage.decode(message.payload, from: message.subject, limits: core.settings.limits) {
        case .failure(let error):
            droppedMessages += 1
            droppedByReason[error.reason, default: 0] += 1
            log("gossip \(id): dropped message (\(droppedMessages) so far): \(error)")
        case .success(let decoded):
            perform(core.receive(decoded, from: decoded.sender, now: now()))
        }
    }

    private func perform(_ directives: [GossipDirective]) {
        for directive in directives {
            switch directive {
            case .send(let to, let message):
                publish(message, on: subjects.node(to))
            case .broadcast(let message):
                publish(message, on: subjects.announce)
            case .memberChanged(let change):
                continuation.yield(change)
            case .scheduleTick:
                break
            }
        }
    }

    /// Encodes within the size bound (dropping the tail of the digest if needed) and publishes.
    private func publish(_ message: GossipMessage, on subject: String) {
        var message = message
        do {
            var data = try message.encode()
            while data.count > core.settings.limits.maxMessageBytes && message.entries.count > 1 {
                message.entries.removeLast(max(1, message.entries.count / 2))
                data = try message.encode()
            }
            try transport.publish(subject, payload: data)
        } catch {
            sendFailures += 1
            log("gossip \(id): could not send to \(subject): \(error)")
        }
    }
}

extension GossipDecodeError {
    /// Every value `reason` takes, for metrics that list each one even at zero.
    public static let reasons = ["malformed", "oversized", "wrong_version"]

    /// A short name of the failure, usable as a metric label.
    public var reason: String {
        switch self {
        case .malformed: return "malformed"
        case .oversized: return "oversized"
        case .wrongVersion: return "wrong_version"
        }
    }
}
