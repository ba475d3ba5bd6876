extension GossipMembership {
    /// Sends this round's digest to `fanout` random live peers (or to the seeds, or as a join
    /// broadcast when none is known), and now and then one digest to a dead member or an absent
    /// seed, so that the sides of a healed partition meet again.
    mutating func gossip<R: RandomNumberGenerator>(now: Duration, using rng: inout R, out: inout [GossipDirective]) {
        var live: [NodeID] = []
        var dead: [NodeID] = []
        live.reserveCapacity(rows.count)
        for i in rows.indices {
            let st = rows[i].status
            if !st.isDown { live.append(rows[i].id) } else if st == .dead { dead.append(rows[i].id) }
        }
        var targets = pick(settings.fanout, from: live, using: &rng)
        let reconnectDue = lastReconnect.map { now - $0 >= settings.reconnectInterval } ?? true
        if targets.isEmpty {
            targets = pick(settings.fanout, from: seeds.filter { status(of: $0) != .left }, using: &rng)
            if targets.isEmpty && reconnectDue {
                lastReconnect = now
                stats.messagesSent += 1
                out.append(.broadcast(GossipMessage(kind: .join, sender: id, entries: [selfDigest])))
                return
            }
        } else if reconnectDue {
            lastReconnect = now
            let absentSeeds = seeds.filter { status(of: $0) == nil || status(of: $0) == .dead }
            if let extra = pick(1, from: dead + absentSeeds, using: &rng).first, !targets.contains(extra) {
                targets.append(extra)
            }
        }
        guard !targets.isEmpty else { return }
        let message = GossipMessage(kind: .digest, sender: id, entries: makeDigest(using: &rng))
        for target in targets {
            stats.messagesSent += 1
            out.append(.send(to: target, message))
        }
    }

    /// This node first, then fresh news (rows sent fewer than `newsTransmissions` times since their
    /// last change), then a random sample, up to `maxDigestEntries`.
    mutating func makeDigest<R: RandomNumberGenerator>(using rng: inout R) -> [MemberDigest] {
        var entries = [selfDigest]
        let room = settings.maxDigestEntries - 1
        entries.reserveCapacity(min(rows.count, room) + 1)
        if rows.count <= room {
            for i in rows.indices {
                entries.append(rows[i].digest)
                rows[i].transmissions += 1
            }
            return entries
        }
        var chosen = Set<Int>()
        for i in rows.indices where chosen.count < room && rows[i].transmissions < settings.newsTransmissions {
            chosen.insert(i)
            entries.append(rows[i].digest)
            rows[i].transmissions += 1
        }
        var attempts = 0
        while chosen.count < room && attempts < room * 3 {
            attempts += 1
            let i = Int.random(in: 0..<rows.count, using: &rng)
            guard chosen.insert(i).inserted else { continue }
            entries.append(rows[i].digest)
            rows[i].transmissions += 1
        }
        return entries
    }

    /// Up to `k` distinct elements of `from`, uniformly (a partial Fisher–Yates shuffle).
    func pick<R: RandomNumberGenerator>(_ k: Int, from: [NodeID], using rng: inout R) -> [NodeID] {
        if from.count <= k { return from }
        var pool = from
        for i in 0..<k {
            let j = Int.random(in: i..<pool.count, using: &rng)
            pool.swapAt(i, j)
        }
        return Array(pool[0..<k])
    }
}
