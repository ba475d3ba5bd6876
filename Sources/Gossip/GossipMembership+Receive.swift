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
        for k in message.entries.indices {
            if message.entries[k].id == id {
                refuted = refuteIfNeeded(message.entries[k]) || refuted
            } else {
                merge(message.entries[k], from: peer, now: now, out: &out)
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
        // Saturates: a peer may send UInt64.max, and `+ 1` would trap.
        let top = max(incarnation, entry.incarnation)
        incarnation = top == .max ? top : top + 1
        stats.refutations += 1
        return true
    }

    /// A peer that talks to us while we hold it dead (or tombstoned) at its incarnation or above
    /// has not heard of its own death; tell it, so it refutes and comes back as a new life.
    func correction(for message: GossipMessage, from peer: NodeID) -> MemberDigest? {
        guard let own = message.entries.first(where: { $0.id == peer }), !own.status.isDown else { return nil }
        if let i = index[peer] {
            let r = rows[i]
            return r.status.isDown && own.incarnation <= r.incarnation ? r.digest : nil
        }
        if let t = tombstones[peer], own.incarnation <= t.incarnation {
            return MemberDigest(id: peer, incarnation: t.incarnation, heartbeat: 0, status: .dead, health: MemberHealth())
        }
        return nil
    }

    mutating func merge(_ e: MemberDigest, from peer: NodeID, now: Duration, out: inout [GossipDirective]) {
        guard let i = index[e.id] else {
            admit(e, from: peer, now: now, out: &out)
            return
        }
        // Most rows of a digest are not news: settle those with three comparisons.
        if e.incarnation == rows[i].incarnation && e.heartbeat <= rows[i].heartbeat && e.status <= rows[i].status
            && !(e.status == .suspect && !rows[i].suspecters.contains(peer)) {
            return
        }
        if e.incarnation > rows[i].incarnation {
            let before = rows[i]
            let newLife = before.status.isDown && !e.status.isDown
            let implied = MemberRecord.lifecycle(for: e.status)
            var r = MemberRecord(id: e.id, incarnation: e.incarnation, heartbeat: e.heartbeat, status: e.status,
                                 lifecycle: newLife ? implied : max(before.lifecycle, implied), health: e.health,
                                 lastAdvanced: now, statusSince: now)
            if e.status == .suspect { r.suspecters = [peer] }
            rows[i] = r
            if newLife || before.status != r.status || before.lifecycle != r.lifecycle {
                out.append(.memberChanged(MemberChange(member: r.member, previousStatus: before.status,
                                                       previousLifecycle: before.lifecycle, isNewLife: newLife)))
            }
        } else if e.incarnation == rows[i].incarnation {
            var status = e.status
            if status == .dead && rows[i].status < .dead
                && now - rows[i].lastAdvanced <= settings.suspectAfter(clusterSize: clusterSize) {
                // Someone else's verdict against our own fresh evidence: suspect it and let it refute.
                status = .suspect
            }
            if e.heartbeat > rows[i].heartbeat {
                rows[i].heartbeat = e.heartbeat
                rows[i].health = e.health
                rows[i].lastAdvanced = now
            }
            if status > rows[i].status {
                out.append(.memberChanged(rows[i].setStatus(status, now: now)))
                if status == .suspect { rows[i].suspecters = [peer] }
            } else if status == .suspect && rows[i].status == .suspect {
                rows[i].suspecters.insert(peer)
            }
        }
    }

    /// A member not in the table: added unless a tombstone says this life already ended.
    mutating func admit(_ e: MemberDigest, from peer: NodeID, now: Duration, out: inout [GossipDirective]) {
        let tomb = tombstones[e.id]
        if let t = tomb, e.incarnation <= t.incarnation { return }
        if tomb != nil { tombstones[e.id] = nil }
        var r = MemberRecord(id: e.id, incarnation: e.incarnation, heartbeat: e.heartbeat, status: e.status,
                             lifecycle: MemberRecord.lifecycle(for: e.status), health: e.health,
                             lastAdvanced: now, statusSince: now)
        if e.status == .suspect { r.suspecters = [peer] }
        append(r)
        out.append(.memberChanged(MemberChange(member: r.member, previousStatus: nil, previousLifecycle: nil,
                                               isNewLife: tomb != nil && !e.status.isDown)))
    }
}
