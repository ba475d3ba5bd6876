import Foundation

/// The pure replication core: a keyed store of replicated values and the protocol that spreads it.
/// A value type with `mutating` entry points that return directives; the shell sends the
/// messages, feeds in what arrives, and calls `tick` on a timer (the SWIM.Instance shape).
///
/// - Local updates are merged at once and their deltas collected; each `tick` cuts them into one
///   numbered batch. Every peer is sent the batches it has not been sent yet (a few peers per
///   tick, oldest first), joined into one message; a peer whose next batch has left the bounded
///   outbox gets the full state instead. When acknowledgements stall for `resendAfter` (doubling
///   with every resend the peer leaves unanswered) every unacknowledged batch is sent again.
/// - A peer that answers none of `maxUnansweredResends` resends is *silent* (cut off, or its
///   messages are queued somewhere): it is sent no deltas, only the anti-entropy digests of the
///   rotation, so that a partition does not pile up ever larger transfers in a reconnect buffer.
///   The first message heard from it re-admits it the way a new peer is admitted.
/// - Every `antiEntropyInterval` one peer, in rotation, is sent a digest of bucket hashes; the
///   buckets that differ are exchanged key by key and each side sends the values the other lacks
///   or holds differently. This repairs lost messages and partitions.
/// - A new or restarted replica (new `epoch`) starts with a digest to a few peers, which pulls the
///   state it lacks (catch-up by state transfer).
public struct Replicator<Value: DeltaReplicatedData>: Sendable {
    public typealias Message = ReplicationMessage<Value>
    public typealias Directive = ReplicatorDirective<Value>

    struct Batch: Sendable {
        let seq: UInt64
        let entries: [String: Value]
    }

    struct PeerProgress: Sendable {
        var acked: UInt64
        var sentUpTo: UInt64
        /// When the oldest unacknowledged send left (or was last resent): the resend timer.
        var waitingSince: Int64?
        /// Resends since the peer was last heard from.
        var unanswered = 0
        /// No deltas go to a silent peer until it is heard from again.
        var silent = false

        init(acked: UInt64, sentUpTo: UInt64) {
            self.acked = acked
            self.sentUpTo = sentUpTo
        }
    }

    /// This replica.
    public let me: ReplicaID
    /// This incarnation: must differ on every start (the wall time at start will do).
    public let epoch: UInt64
    /// The tuning.
    public let settings: ReplicatorSettings
    /// The replicated values by key.
    public private(set) var values: [String: Value]
    /// The peers currently replicated to.
    public private(set) var peers: Set<ReplicaID> = []

    private var pending: [String: Value] = [:]
    private var outbox: [Batch] = []
    private var ownSeq: UInt64 = 0
    private var progress: [ReplicaID: PeerProgress] = [:]
    private var received: [ReplicaID: SequenceMark] = [:]
    private var lastAntiEntropy: Int64?
    private var antiEntropyCursor = 0
    private var needsCatchUp = true
    /// Values recently sent to each peer by anti-entropy, with their hash and when, so that
    /// overlapping anti-entropy rounds do not send the same values again (`stateResendAfter`).
    private var recentlySent: [ReplicaID: [String: (hash: UInt64, at: Int64)]] = [:]
    /// When each peer was last answered a digest with key hashes: a digest arriving while that
    /// exchange is still running is not answered with every key hash again.
    private var keyDigestSent: [ReplicaID: Int64] = [:]
    /// Replicas pruned away: incoming data is cleaned of them before it is merged.
    public private(set) var prunedReplicas: Set<ReplicaID> = []
    var digest: DigestIndex

    /// A replicator for `me`, starting from `initial` (the state persisted before a restart).
    public init(me: ReplicaID, epoch: UInt64, settings: ReplicatorSettings = ReplicatorSettings(),
                initial: [String: Value] = [:]) {
        self.me = me
        self.epoch = epoch
        self.settings = settings
        self.values = initial
        self.digest = DigestIndex(buckets: max(1, settings.digestBuckets))
        for key in initial.keys { digest.invalidate(key) }
    }

    /// The value under `key`.
    public subscript(key: String) -> Value? { values[key] }

    /// Whether the value under `key` hashes to `hash` (an `EntryIndex` hash): an incoming entry
    /// with those bytes would change nothing, so it need not be decoded.
    public mutating func holds(_ key: String, hash: UInt64) -> Bool {
        digest.entry(of: key, in: values)?.hash == hash
    }

    /// The deterministic encoding (`CRDTCoding`) of the value under `key`, nil when absent. Kept
    /// from the last time the value changed, so persisting what peers sent costs no encoding.
    public mutating func encoding(of key: String) -> Foundation.Data? {
        digest.entry(of: key, in: values)?.bytes
    }

    /// Applies a local change: `delta` is the mutation's delta (or the whole new value).
    public mutating func localUpdate(_ key: String, delta: Value) {
        if values[key] != nil {
            values[key]?.mergeDelta(delta)
        } else {
            values[key] = delta
        }
        addPending(key, delta)
    }

    private mutating func addPending(_ key: String, _ delta: Value) {
        if pending[key] != nil {
            pending[key]?.mergeDelta(delta)
        } else {
            pending[key] = delta
        }
        digest.invalidate(key)
    }

    /// Mutates the value under `key` (starting from `empty` when absent) with delta mutators and
    /// replicates the resulting delta. Returns the new value.
    @discardableResult
    public mutating func update(_ key: String, empty: Value, _ body: (inout Value) -> Void) -> Value {
        // Mutated in place in the dictionary, so a large value is not copied per update.
        values[key, default: empty].resetDelta()
        body(&values[key, default: empty])
        if let d = values[key]?.delta {
            values[key]?.resetDelta()
            addPending(key, d)
        }
        return values[key] ?? empty
    }

    /// Changes a value locally without replicating the change: for steps every replica takes on
    /// its own, such as `LWWMap.collectGarbage` or `pruningCleanup`. Returns false if absent.
    @discardableResult
    public mutating func modifyLocally(_ key: String, _ body: (inout Value) -> Void) -> Bool {
        // Moved out, not copied: the value stays uniquely referenced while `body` mutates it.
        guard var v = values.removeValue(forKey: key) else { return false }
        body(&v)
        v.resetDelta()
        values[key] = v
        digest.invalidate(key)
        return true
    }

    /// Prunes a replica that left the cluster for good, in every value. Call it on every replica
    /// once the removal has been disseminated (see docs/crdt.md, "Removed-node pruning"). The owner,
    /// the lowest id among this replica and its peers, collapses `removed` into itself and
    /// replicates the result; the others drop `removed`'s entries. From now on incoming data is
    /// cleaned of `removed` before it is merged. Returns the keys changed.
    @discardableResult
    public mutating func pruneRemoved(_ removed: ReplicaID) -> [String] {
        guard removed != me else { return [] }
        prunedReplicas.insert(removed)
        let owner = peers.subtracting([removed]).union([me]).min() ?? me
        var changed: [String] = []
        for key in values.keys.sorted() where values[key]?.needsPruning(from: removed) == true {
            changed.append(key)
            guard var v = values.removeValue(forKey: key) else { continue }
            v.resetDelta()
            if owner == me {
                v.prune(removed: removed, into: me)
                if let d = v.delta { addPending(key, d) }
                v.resetDelta()
            } else {
                v.pruningCleanup(removed: removed)
            }
            values[key] = v
            pending[key]?.pruningCleanup(removed: removed)
            digest.invalidate(key)
        }
        return changed
    }

    /// The membership changed: replicate to `newPeers` from now on.
    public mutating func peersChanged(_ newPeers: Set<ReplicaID>, now: Int64) -> [Directive] {
        let next = newPeers.subtracting([me])
        for gone in peers.subtracting(next) {
            progress.removeValue(forKey: gone)
            recentlySent.removeValue(forKey: gone)
            keyDigestSent.removeValue(forKey: gone)
        }
        // A new (or re-admitted) peer gets deltas from here on and anti-entropy at once (`admit`).
        var out: [Directive] = []
        let added = next.subtracting(peers)
        for peer in added {
            progress[peer] = PeerProgress(acked: ownSeq, sentUpTo: ownSeq)
        }
        peers = next
        trimOutbox()
        if !added.isEmpty, !needsCatchUp {
            for peer in added.sorted() { out += admit(peer) }
        }
        guard needsCatchUp, !peers.isEmpty else { return out }
        needsCatchUp = false
        for peer in peers.sorted().prefix(max(1, settings.deltaFanout)) {
            out += send(.digest(buckets: digest.bucketHashes(values)), to: peer)
        }
        return out
    }

    /// One round: cut the collected deltas into a batch, send deltas to a few peers, and offer
    /// anti-entropy to one peer when due.
    public mutating func tick(now: Int64) -> [Directive] {
        if !pending.isEmpty {
            ownSeq += 1
            outbox.append(Batch(seq: ownSeq, entries: pending))
            pending = [:]
        }
        var out: [Directive] = []
        let due = peers.filter { peer in
            guard let p = progress[peer], !p.silent, p.acked < ownSeq else { return false }
            return p.sentUpTo < ownSeq || resendDue(p, now: now)
        }
        let chosen = due.sorted { a, b in
            let la = progress[a]?.waitingSince ?? Int64.min, lb = progress[b]?.waitingSince ?? Int64.min
            return la != lb ? la < lb : a < b
        }.prefix(max(1, settings.deltaFanout))
        for peer in chosen { out += sendDeltas(to: peer, now: now) }

        if !peers.isEmpty, lastAntiEntropy.map({ now - $0 >= settings.antiEntropyInterval }) ?? true {
            lastAntiEntropy = now
            forgetOldSends(now: now)
            let ordered = peers.sorted()
            let peer = ordered[antiEntropyCursor % ordered.count]
            antiEntropyCursor &+= 1
            out += send(.digest(buckets: digest.bucketHashes(values)), to: peer)
        }
        trimOutbox()
        return out
    }

    /// Bytes from `peer`: decoded defensively, then handled.
    public mutating func receive(bytes: Foundation.Data, from peer: ReplicaID, now: Int64) -> [Directive] {
        do {
            let message = try Message.decode(bytes, limit: settings.maxMessageBytes)
            return receive(message, from: peer, now: now)
        } catch {
            return [.rejected(from: peer, error: error)]
        }
    }

    /// A decoded message from `peer`.
    public mutating func receive(_ message: Message, from peer: ReplicaID, now: Int64) -> [Directive] {
        guard message.version == Message.currentVersion else {
            return [.rejected(from: peer, error: .unsupportedVersion(message.version))]
        }
        var out = heard(peer, now: now)
        out += handle(message, from: peer, now: now)
        return out
    }

    /// The peer spoke: it answers again. A silent one is re-admitted: what it missed meanwhile
    /// may be anywhere between lost and still queued, so anti-entropy repairs it, not a resend.
    private mutating func heard(_ peer: ReplicaID, now: Int64) -> [Directive] {
        guard var p = progress[peer] else { return [] }
        guard p.silent else {
            if p.unanswered != 0 {
                p.unanswered = 0
                progress[peer] = p
            }
            return []
        }
        progress[peer] = PeerProgress(acked: ownSeq, sentUpTo: ownSeq)
        trimOutbox()
        return admit(peer)
    }

    /// Starts replicating to a new or returning peer: deltas flow to it from our current batch
    /// on, and anti-entropy repairs everything before, started at once rather than when the
    /// rotation reaches it. The empty state covering our batches so far tells it where our
    /// deltas resume: otherwise a receiver that still holds an older mark for us sees a gap before
    /// our next batch and never acknowledges again, and every later delta is resent to it until
    /// the outbox overflows into full-state transfers.
    private mutating func admit(_ peer: ReplicaID) -> [Directive] {
        var out = send(.state(covers: SequenceMark(epoch: epoch, seq: ownSeq), entries: [:]), to: peer)
        out += send(.digest(buckets: digest.bucketHashes(values)), to: peer)
        return out
    }

    private func resendDue(_ p: PeerProgress, now: Int64) -> Bool {
        guard let since = p.waitingSince else { return true }
        let backoff = settings.resendAfter << Int64(min(p.unanswered, 6))
        return now - since >= backoff
    }

    private mutating func handle(_ message: Message, from peer: ReplicaID, now: Int64) -> [Directive] {
        switch message.body {
        case .deltas(let epoch, let from, let to, let last, let entries):
            var out = absorb(entries, delta: true)
            guard last else { return out }
            var mark = received[peer]
            if mark == nil {
                // First contact: anything earlier arrives through catch-up anti-entropy.
                mark = SequenceMark(epoch: epoch, seq: to)
            } else if mark?.epoch != epoch {
                // The peer restarted: its new batches count from 1.
                mark = SequenceMark(epoch: epoch, seq: from == 1 ? to : 0)
            } else if let m = mark, m.seq == .max || from <= m.seq + 1 {  // a peer may send seq UInt64.max
                mark = SequenceMark(epoch: epoch, seq: max(m.seq, to))
            }
            let ack = mark ?? SequenceMark(epoch: epoch, seq: 0)
            received[peer] = ack
            out += send(.ack(epoch: epoch, seq: ack.seq), to: peer)
            return out

        case .ack(let epoch, let seq):
            guard epoch == self.epoch, var p = progress[peer] else { return [] }
            if seq < p.acked {
                // The peer holds an older mark than we count on (it missed the covering state
                // sent when it was re-admitted, or this ack is late): restate the mark, which is
                // harmless if it already has it, so its acknowledgements move again.
                return send(.state(covers: SequenceMark(epoch: epoch, seq: p.acked), entries: [:]), to: peer)
            }
            // A receiver's mark only grows (it always receives from `acked + 1`, and one that has
            // never heard from us starts where we are), so a late ack, reordered behind a newer one,
            // must not move `acked` back and force a full-state transfer. Loss is repaired by
            // the resend timer.
            let acked = max(p.acked, min(seq, ownSeq))
            if acked > p.acked {
                p.acked = acked
                p.waitingSince = acked < p.sentUpTo ? now : nil
            }
            progress[peer] = p
            trimOutbox()
            return []

        case .state(let covers, let entries):
            var out = absorb(entries, delta: false)
            guard let covers else { return out }
            if let m = received[peer], m.epoch == covers.epoch {
                received[peer] = SequenceMark(epoch: covers.epoch, seq: max(m.seq, covers.seq))
            } else {
                received[peer] = covers
            }
            out += send(.ack(epoch: covers.epoch, seq: received[peer]?.seq ?? covers.seq), to: peer)
            return out

        case .digest(let buckets):
            guard buckets.count == digest.bucketCount else {
                // Peers configured with different bucket counts cannot compare digests.
                return [.rejected(from: peer, error: .malformed(
                    "digest has \(buckets.count) buckets, this replica uses \(digest.bucketCount)"))]
            }
            let mine = digest.bucketHashes(values)
            let differing = buckets.indices.filter { buckets[$0] != mine[$0] }
            guard !differing.isEmpty else { return [] }
            if let last = keyDigestSent[peer], now - last < settings.stateResendAfter { return [] }
            keyDigestSent[peer] = now
            let keyHashes = digest.keyHashes(values, inBuckets: Set(differing))
            return sendChunked(keyHashes.map { ($0.key, $0.value) }, to: peer, size: { $0.0.utf8.count + 24 }) { part in
                .keyDigest(buckets: differing, hashes: Dictionary(uniqueKeysWithValues: part))
            }

        case .keyDigest(let buckets, let theirs):
            let inBuckets = Set(buckets.filter { $0 >= 0 && $0 < digest.bucketCount })
            let mine = digest.keyHashes(values, inBuckets: inBuckets)
            let toSend = mine.filter { theirs[$0.key] != $0.value }.map(\.key).sorted()
            let wanted = theirs.filter { key, hash in
                inBuckets.contains(digest.bucket(of: key)) && mine[key] != hash
            }.map(\.key).sorted()
            var out = sendState(keys: notRecentlySent(toSend, to: peer, now: now), covers: nil, to: peer)
            if !wanted.isEmpty {
                out += sendChunked(wanted.map { ($0, ()) }, to: peer, size: { $0.0.utf8.count + 4 }) { part in
                    .request(keys: part.map(\.0))
                }
            }
            return out

        case .request(let keys):
            return sendState(keys: notRecentlySent(keys.filter { values[$0] != nil }, to: peer, now: now),
                             covers: nil, to: peer)
        }
    }

    // MARK: - Sending

    /// `keys` less those whose current value went to `peer` within `stateResendAfter`; records
    /// the rest as sent now.
    private mutating func notRecentlySent(_ keys: [String], to peer: ReplicaID, now: Int64) -> [String] {
        var sent = recentlySent.removeValue(forKey: peer) ?? [:]
        var out: [String] = []
        out.reserveCapacity(keys.count)
        for key in keys {
            guard let h = digest.hash(of: key, in: values) else { continue }
            if let last = sent[key], last.hash == h, now - last.at < settings.stateResendAfter { continue }
            sent[key] = (h, now)
            out.append(key)
        }
        recentlySent[peer] = sent
        return out
    }

    private mutating func forgetOldSends(now: Int64) {
        for peer in Array(recentlySent.keys) {
            recentlySent[peer] = recentlySent[peer]?.filter { now - $0.value.at < settings.stateResendAfter }
            if recentlySent[peer]?.isEmpty == true { recentlySent.removeValue(forKey: peer) }
        }
    }

    /// New batches go out once; when the resend timer fires, every unacknowledged batch goes
    /// again, and a peer that left `maxUnansweredResends` of those unanswered falls silent.
    private mutating func sendDeltas(to peer: ReplicaID, now: Int64) -> [Directive] {
        guard var p = progress[peer] else { return [] }
        let resend = p.sentUpTo > p.acked && resendDue(p, now: now)
        if resend {
            guard p.unanswered < settings.maxUnansweredResends else {
                p.silent = true
                progress[peer] = p
                trimOutbox()
                return []
            }
            p.unanswered += 1
        }
        let from = resend ? p.acked + 1 : p.sentUpTo + 1
        var out: [Directive]
        if let first = outbox.first, first.seq <= from {
            var joined: [String: Value] = [:]
            for batch in outbox where batch.seq >= from {
                for (key, d) in batch.entries {
                    if joined[key] != nil {
                        joined[key]?.mergeDelta(d)
                    } else {
                        joined[key] = d
                    }
                }
            }
            let epoch = self.epoch, to = ownSeq
            // A value that cannot be encoded (a non-finite number) is left out, not spliced empty.
            let encoded = joined.compactMap { key, d in
                (try? CRDTCoding.encode(d)).map { (key: key, value: d, bytes: $0) }
            }
            out = sendEntries(encoded, to: peer) { last in .deltas(epoch: epoch, from: from, to: to, last: last) }
        } else {
            out = sendState(keys: values.keys.sorted(), covers: SequenceMark(epoch: epoch, seq: ownSeq), to: peer)
        }
        if resend || p.waitingSince == nil { p.waitingSince = now }
        p.sentUpTo = ownSeq
        progress[peer] = p
        return out
    }

    /// Full values of `keys` (from their kept encodings); the last part carries `covers`.
    private mutating func sendState(keys: [String], covers: SequenceMark?, to peer: ReplicaID) -> [Directive] {
        var entries: [(key: String, value: Value, bytes: Foundation.Data)] = []
        entries.reserveCapacity(keys.count)
        for key in keys {
            guard let v = values[key], let e = digest.entry(of: key, in: values), !e.bytes.isEmpty else { continue }
            entries.append((key, v, e.bytes))
        }
        if entries.isEmpty && covers == nil { return [] }
        return sendEntries(entries, to: peer) { last in .state(covers: last ? covers : nil) }
    }

    /// Splits encoded keyed values into messages under the size limit, sent back to back; a value
    /// too large alone is reported.
    private func sendEntries(_ entries: [(key: String, value: Value, bytes: Foundation.Data)], to peer: ReplicaID,
                             header: (Bool) -> SplicedEntries.Header) -> [Directive] {
        let budget = settings.maxMessageBytes - SplicedEntries.envelopeBytes
        var out: [Directive] = []
        var parts: [[(SplicedEntries.Entry, Value)]] = []
        var current: [(SplicedEntries.Entry, Value)] = []
        var used = 0
        var previous: String?
        for (key, value, bytes) in entries.sorted(by: { $0.key < $1.key }) where key != previous {
            previous = key
            let e = SplicedEntries.Entry(key: key, bytes: bytes)
            guard e.size + 1 <= budget else {
                out.append(.tooLarge(key: key, peer: peer, bytes: e.size))
                continue
            }
            if used + e.size + 1 > budget && !current.isEmpty {
                parts.append(current)
                current = []
                used = 0
            }
            current.append((e, value))
            used += e.size + 1
        }
        parts.append(current)
        for (i, part) in parts.enumerated() {
            let h = header(i == parts.count - 1)
            var dict: [String: Value] = [:]
            dict.reserveCapacity(part.count)
            for (e, v) in part { dict[e.key] = v }
            let body: Message.Body
            switch h {
            case .deltas(let epoch, let from, let to, let last):
                body = .deltas(epoch: epoch, from: from, to: to, last: last, entries: dict)
            case .state(let covers):
                body = .state(covers: covers, entries: dict)
            }
            out.append(.send(to: peer, message: Message(body), bytes: SplicedEntries.encode(h, part.map(\.0))))
        }
        return out
    }

    private func sendChunked<T>(_ items: [T], to peer: ReplicaID, size: (T) -> Int,
                                make: ([T]) -> Message.Body) -> [Directive] {
        let budget = settings.maxMessageBytes - 256
        var out: [Directive] = []
        var current: [T] = []
        var used = 0
        for item in items {
            let s = size(item)
            if used + s > budget && !current.isEmpty {
                out += send(make(current), to: peer)
                current = []
                used = 0
            }
            current.append(item)
            used += s
        }
        if !current.isEmpty { out += send(make(current), to: peer) }
        return out
    }

    private func send(_ body: Message.Body, to peer: ReplicaID) -> [Directive] {
        let message = Message(body)
        guard let bytes = try? message.encoded() else { return [] }
        return [.send(to: peer, message: message, bytes: bytes)]
    }

    // MARK: - Receiving

    private mutating func absorb(_ entries: [String: Value], delta: Bool) -> [Directive] {
        guard !entries.isEmpty else { return [] }
        for (key, received) in entries {
            var incoming = received
            for r in prunedReplicas where incoming.needsPruning(from: r) { incoming.pruningCleanup(removed: r) }
            if values[key] != nil {
                if delta { values[key]?.mergeDelta(incoming) } else { values[key]?.merge(incoming) }
            } else {
                values[key] = incoming
            }
            digest.invalidate(key)
        }
        return [.updated(keys: entries.keys.sorted())]
    }

    private mutating func trimOutbox() {
        guard !peers.isEmpty else {
            outbox.removeAll()
            return
        }
        // A silent peer is re-admitted from our current batch, so it holds no batches back.
        let floor = peers.compactMap { progress[$0].map { $0.silent ? ownSeq : $0.acked } }.min() ?? ownSeq
        outbox.removeAll { $0.seq <= floor }
        if outbox.count > settings.maxOutboxBatches {
            outbox.removeFirst(outbox.count - settings.maxOutboxBatches)
        }
    }
}
