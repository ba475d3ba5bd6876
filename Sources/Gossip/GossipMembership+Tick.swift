extension GossipMembership {
    /// One round: bump the heartbeat, judge the peers' timers, prune, and gossip to `fanout` peers.
    /// Random choices come from `rng`, so a seeded generator makes a run reproducible.
    public mutating func tick<R: RandomNumberGenerator>(now: Duration, using rng: inout R) -> [GossipDirective] {
        guard status != .left else { return [] }
        var out: [GossipDirective] = []
        let late = lastTick.map { now - $0 > settings.interval * settings.lateTickFactor } ?? false
        if late {
            // A stalled node has stale evidence: stretch its timeouts and skip judging this round
            // rather than accuse peers whose heartbeats it simply did not get to process.
            stats.lateTicks += 1
            raiseLocalHealth()
        } else if isDeaf(now: now) {
            // Every peer silent at once: the common factor is this node (Lifeguard's missed nacks).
            raiseLocalHealth()
        } else {
            localHealth = max(0, localHealth - 1)
        }
        lastTick = now
        heartbeat &+= 1
        if !late { detectFailures(now: now, out: &out) }
        prune(now: now, out: &out)
        gossip(now: now, using: &rng, out: &out)
        out.append(.scheduleTick(after: settings.interval))
        return out
    }

    /// Graceful leave: announce `left` to the whole cluster. Peers record it as `left`, not dead.
    /// After this the core ignores ticks and messages; the shell stops it.
    public mutating func leave(now: Duration) -> [GossipDirective] {
        guard status != .left else { return [] }
        let before = selfMember
        status = .left
        lifecycle = .leaving
        stats.messagesSent += 1
        return [
            .memberChanged(MemberChange(member: selfMember, previousStatus: before.status,
                                        previousLifecycle: before.lifecycle, isNewLife: false)),
            .broadcast(GossipMessage(kind: .leave, sender: id, entries: [selfDigest])),
        ]
    }

    /// Whether nothing at all arrived for `lateTickFactor` rounds although there are live peers.
    func isDeaf(now: Duration) -> Bool {
        guard let heard = lastReceived, clusterSize > 1 else { return false }
        return now - heard > settings.interval * settings.lateTickFactor
    }

    mutating func raiseLocalHealth() {
        localHealth = min(settings.maxLocalHealth, localHealth + 1)
    }

    mutating func detectFailures(now: Duration, out: inout [GossipDirective]) {
        let n = clusterSize
        let mult = Double(localHealthMultiplier)
        let suspectAfter = settings.suspectAfter(clusterSize: n) * mult
        for i in rows.indices {
            switch rows[i].status {
            case .alive where now - rows[i].lastAdvanced > suspectAfter:
                out.append(.memberChanged(rows[i].setStatus(.suspect, now: now)))
                rows[i].suspecters = [id]
                stats.suspicionsRaised += 1
            case .suspect:
                let confirmations = rows[i].suspecters.count - (rows[i].suspecters.contains(id) ? 1 : 0)
                let expired = now - rows[i].statusSince >= settings.suspicionPeriod(confirmations: confirmations, clusterSize: n) * mult
                // A heartbeat that still advances is evidence of life: wait for the refutation instead.
                if expired && now - rows[i].lastAdvanced > suspectAfter {
                    out.append(.memberChanged(rows[i].setStatus(.dead, now: now)))
                    stats.deathsDeclared += 1
                }
            default:
                break
            }
        }
    }

    /// Dead and left members leave the digests after `deadRetention`; a tombstone remembers their
    /// incarnation so stale gossip cannot bring that life back.
    mutating func prune(now: Duration, out: inout [GossipDirective]) {
        var removed = Set<NodeID>()
        for i in rows.indices where rows[i].status.isDown && now - rows[i].statusSince >= settings.deadRetention {
            let r = rows[i]
            removed.insert(r.id)
            tombstones[r.id] = Tombstone(incarnation: r.incarnation, since: now)
            var gone = r
            gone.lifecycle = .removed
            out.append(.memberChanged(MemberChange(member: gone.member, previousStatus: r.status,
                                                   previousLifecycle: r.lifecycle, isNewLife: false)))
        }
        if !removed.isEmpty { removeRows(removed) }
        if !tombstones.isEmpty {
            tombstones = tombstones.filter { now - $0.value.since < settings.tombstoneRetention }
        }
    }
}
