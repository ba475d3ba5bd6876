import ClusterCore
import CRDT
import Foundation
import Transport

/// The replicator's shell: subjects, the receive loop, the tick loop, peers from membership,
/// garbage collection and persistence of what peers sent.
///
/// Each node subscribes to `agentvm.<cluster>.crdt.<node>.*`; a message from node A to node B is
/// published on `agentvm.<cluster>.crdt.<B>.<A>`, so the sender is known without trusting the
/// payload. Bytes are decoded defensively by the core; a rejection is counted and logged naming
/// the sender, and never changes the replica.
extension ReplicatedMemory {
    struct Shell {
        let transport: any Transport
        let subscription: TransportSubscription
        let tasks: [Task<Void, Never>]
        let peers: @Sendable () -> Set<String>
    }

    /// The subject a node listens on for messages from `sender` (`*` for every sender).
    public static func subject(cluster: String, to node: String, from sender: String) -> String {
        "agentvm.\(cluster).crdt.\(node).\(sender)"
    }

    /// Starts replicating over `transport` to the nodes `peers` returns (asked every tick; this
    /// node's own id is ignored). Idempotent.
    public func start(transport: any Transport, peers: @escaping @Sendable () -> Set<String>) throws {
        guard shell == nil else { return }
        let subject = Self.subject(cluster: options.cluster, to: nodeID, from: "*")
        let subscription = try transport.subscribe(subject, queue: nil)
        let interval = options.tickInterval
        let limit = options.replicator.maxMessageBytes
        // Messages are decoded here, off the actor: a heal brings hundreds of KiB of JSON per
        // message, and the actor meanwhile merges the previous one, ticks and answers reads.
        // Entries this replica already holds byte for byte (a heal sends most values two or three
        // times) are cut out first, so they are never decoded.
        let receiver = Task.detached { [weak self] in
            for await message in subscription.messages {
                let sender = message.subject.split(separator: ".").last.map(String.init) ?? ""
                let received = message.payload.count
                var payload = message.payload
                if payload.count >= Self.prefilterBytes, payload.count <= limit, let index = EntryIndex(message: payload) {
                    guard let self else { return }
                    payload = index.removing(await self.heldEntries(index), from: payload)
                }
                let decoded: Result<Replicator<Value>.Message, ReplicationDecodeError>
                do throws(ReplicationDecodeError) {
                    decoded = .success(try Replicator<Value>.Message.decode(payload, limit: limit))
                } catch {
                    decoded = .failure(error)
                }
                guard let self else { return }
                await self.deliver(decoded, bytes: received, from: sender)
            }
        }
        let ticker = Task { [weak self] in
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                guard let self else { return }
                await self.tickOnce()
            }
        }
        shell = Shell(transport: transport, subscription: subscription, tasks: [receiver, ticker], peers: peers)
    }

    /// Stops replicating and writes what peers sent that is not yet persisted.
    public func stop() async {
        guard let s = shell else { return }
        shell = nil
        s.subscription.unsubscribe()
        for t in s.tasks { t.cancel() }
        await flushDirty()
    }

    /// The shell's counters.
    public func stats() -> ReplicationStats {
        var s = counters
        s.keys = replicator.values.count
        s.peers = replicator.peers.count
        return s
    }

    /// One round: follow membership, send deltas and anti-entropy, collect garbage, persist.
    func tickOnce() async {
        guard let s = shell else { return }
        // Protocol timers run on the monotonic clock; the wall clock (which tests may freeze) only
        // stamps writes and decides expiry.
        let now = Self.monotonicMilliseconds()
        let me = nodeID
        let current = Set(s.peers().filter { (id: String) in id != me }.map { ReplicaID($0) })
        if current != replicator.peers {
            run(replicator.peersChanged(current, now: now))
        }
        run(replicator.tick(now: now))
        if lastGC.map({ now - $0 >= 1000 }) ?? true {
            lastGC = now
            collectGarbage(now: clock())
        }
        await flushDirty()
    }

    /// Messages smaller than this are decoded whole: skipping entries would save little.
    static let prefilterBytes = 4096

    /// The entries of `index` whose value this replica holds exactly (merging them is a no-op).
    func heldEntries(_ index: EntryIndex) -> Set<Int> {
        var held = Set<Int>()
        for (i, key) in index.keys.enumerated() where replicator.holds(key, hash: index.hashes[i]) {
            held.insert(i)
        }
        return held
    }

    /// A message from the transport, decoded (or rejected) by the receiver; `bytes` is its size on
    /// the wire, the sender the subject's last token.
    func deliver(_ decoded: Result<Replicator<Value>.Message, ReplicationDecodeError>, bytes: Int, from sender: String) {
        counters.received &+= 1
        counters.receivedBytes &+= UInt64(bytes)
        guard !sender.isEmpty, sender != nodeID else { return }
        let peer = ReplicaID(sender)
        switch decoded {
        case .success(let message):
            run(replicator.receive(message, from: peer, now: Self.monotonicMilliseconds()))
        case .failure(let error):
            run([.rejected(from: peer, error: error)])
        }
    }

    func run(_ directives: [Replicator<Value>.Directive]) {
        for d in directives {
            switch d {
            case .send(let to, let message, let bytes):
                guard let s = shell else { continue }
                do {
                    try s.transport.publish(Self.subject(cluster: options.cluster, to: to.value, from: nodeID), payload: bytes, replyTo: nil)
                    counters.sent &+= 1
                    counters.noteSent(message, bytes: bytes.count)
                } catch {
                    counters.sendFailures &+= 1
                }
            case .updated(let keys):
                dirty.formUnion(keys)
                // A pruning decision from a peer is carried out at once, so it is persisted in the
                // same transaction as the values it prunes: a restart in between would otherwise
                // load the decision with unpruned values and prune them with no peers known (this
                // replica its own owner), counting the departed member twice.
                if keys.contains(Self.prunedKey) { dirty.formUnion(applyPruningDecisions()) }
            case .rejected(let from, let error):
                let reason: String
                switch error {
                case .oversized: reason = "oversized"
                case .unsupportedVersion: reason = "unsupported_version"
                case .malformed: reason = "malformed"
                }
                counters.rejected[reason, default: 0] &+= 1
                log("replicated memory: dropped a message from peer \(from.value): \(error)")
            case .tooLarge(let key, let peer, let bytes):
                log("replicated memory: key '\(key)' (\(bytes) bytes) is too large to send to peer \(peer.value)")
            }
        }
    }

    static func monotonicMilliseconds() -> Int64 {
        return Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000)
    }

    /// Expired values become delete markers and old markers are dropped, the same way on every
    /// replica (the result depends only on the entries and the clock), so it is not replicated.
    func collectGarbage(now: Int64) {
        let retention = options.retention
        var due: [String] = []
        for (key, v) in replicator.values {
            guard case .map(let m) = v, let e = m.entries[""] else { continue }
            if let x = e.expiresAt, (e.value != nil && now >= x) || (e.value == nil && now >= x &+ retention) {
                due.append(key)
            }
        }
        for key in due {
            replicator.modifyLocally(key) { v in v.modifyMap { _ = $0.collectGarbage(now: now, retention: retention) } }
            dirty.insert(key)
        }
    }

    /// Persists the keys peers changed, in one transaction; retried at the next tick on failure.
    func flushDirty() async {
        guard !dirty.isEmpty else { return }
        let keys = dirty
        dirty = []
        do { try await persist(keys) } catch {
            counters.persistFailures &+= 1
            dirty.formUnion(keys)
            log("replicated memory: cannot persist \(keys.count) received keys (retrying): \(error)")
        }
    }
}
