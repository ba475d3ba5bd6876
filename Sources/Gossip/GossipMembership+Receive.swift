extension GossipMembership {
    /// Merges a message from `peer` into the view: each row by maximum (incarnation, then heartbeat,
    /// then status rank). Rows about this node are never merged: a suspicion or an older life is
    /// refuted by raising the incarnation, and the refutation goes straight back to `peer`.
    public mutating func receive(_ message: GossipMessage, from peer: NodeID, now: Duration) -> [GossipDirective] {
        guard status != .left, peer != id, message.sender != id else { return [] }
        var out: [GossipDirective] = []
        stats.messagesReceived += 1
        lastReceived = now
        if lifecycle == .joining {
            lifecycle = .up
            out.append(.memberChanged(MemberChange(member: selfMember, previousStatus: status,
                                                   previousLifecycle: .joining, isNewLife: false)))
        }
        var refuted = false
        for entry in message.entries {
            if entry.id == id {
                refuted = refuteIfNeeded(entry) || refuted
            } else {
                merge(entry, from: peer, now: now, out: &out)
            }
        }
        if refuted {
            stats.messagesSent += 1
            out.append(.send(to: peer, GossipMessage(kind: .digest, sender: id, entries: [selfDigest])))
        }
        if let correction = correction(for: message, from: peer) {
            stats.messagesSent += 1
            out.append(.send(to: peer, GossipMessage(kind: .digest, sender: id, entries: [selfDigest, correction])))
        }
        return out
    }

    /// Whether a row about this node shows a suspicion, a death, or a life it does not remember
    /// (it restarted); if so, the incarnation goes above it.
    mutating func refuteIfNeeded(_ entry: MemberDigest) -> Bool {
        let newer = entry.incarnation > incarnation
        let accused = entry.incarnation == incarnation && (entry.status != .alive || entry.heartbeat > heartbeat)
        guard newer || accused else { return false }
        if entry.status == .suspect || entry.status == .dead {
            // Lifeguard: being suspected is a hint that this node is the slow one.
            raiseLocalHealth()
        }
        incarnation = max(incarnation, entry.incarnation) + 1
        stats.refutations += 1
        return true
    }

    /// A peer that talks to us while we hold it dead (or tombstoned) at its incarnation or above
    /// has not heard of its own death; tell it, so it refutes and comes back as a new life.
    func correction(for message: GossipMessage, from peer: NodeID) -> MemberDigest? {
        guard let own = message.entries.first(where: { $0.id == peer }), !own.status.isDown else { return nil }
        if let r = peers[peer], r.status.isDown, own.incarnation <= r.incarnation {
            return r.digest
        }
        if peers[peer] == nil, let t = tombstones[peer], own.incarnation <= t.incarnation {
            return MemberDigest(id: peer, incarnation: t.incarnation, heartbeat: 0, status: .dead, health: MemberHealth())
        }
        return nil
    }

    mutating func merge(_ e: MemberDigest, from peer: NodeID, now: Duration, out: inout [GossipDirective]) {
        guard var r = peers[e.id] else {
            admit(e, from: peer, now: now, out: &out)
            return
        }
        if e.incarnation > r.incarnation {
            let before = r
            let newLife = before.status.isDown && !e.status.isDown
            r.incarnation = e.incarnation
            r.heartbeat = e.heartbeat
            r.health = e.health
            r.lastAdvanced = now
            r.status = e.status
            r.statusSince = now
            r.suspecters = e.status == .suspect ? [peer] : []
            r.transmissions = 0
            let implied = MemberRecord.lifecycle(for: e.status)
            r.lifecycle = newLife ? implied : max(before.lifecycle, implied)
            peers[e.id] = r
            if newLife || before.status != r.status || before.lifecycle != r.lifecycle {
                out.append(.memberChanged(MemberChange(member: r.member, previousStatus: before.status,
                                                       previousLifecycle: before.lifecycle, isNewLife: newLife)))
            }
        } else if e.incarnation == r.incarnation {
            var status = e.status
            if status == .dead && now - r.lastAdvanced <= settings.suspectAfter(clusterSize: clusterSize) {
                // Someone else's verdict against our own fresh evidence: suspect it and let it refute.
                status = .suspect
            }
            if e.heartbeat > r.heartbeat {
                r.heartbeat = e.heartbeat
                r.health = e.health
                r.lastAdvanced = now
            }
            if status > r.status {
                setStatus(&r, to: status, now: now, out: &out)
                if status == .suspect { r.suspecters = [peer] }
            } else if status == .suspect && r.status == .suspect {
                r.suspecters.insert(peer)
            }
            peers[e.id] = r
        }
    }

    /// A member not in the table: added unless a tombstone says this life already ended.
    mutating func admit(_ e: MemberDigest, from peer: NodeID, now: Duration, out: inout [GossipDirective]) {
        let tomb = tombstones[e.id]
        if let t = tomb, e.incarnation <= t.incarnation { return }
        tombstones[e.id] = nil
        var r = MemberRecord(id: e.id, incarnation: e.incarnation, heartbeat: e.heartbeat, status: e.status,
                             lifecycle: MemberRecord.lifecycle(for: e.status), health: e.health,
                             lastAdvanced: now, statusSince: now)
        if e.status == .suspect { r.suspecters = [peer] }
        peers[e.id] = r
        order.append(e.id)
        out.append(.memberChanged(MemberChange(member: r.member, previousStatus: nil, previousLifecycle: nil,
                                               isNewLife: tomb != nil && !e.status.isDown)))
    }
}
