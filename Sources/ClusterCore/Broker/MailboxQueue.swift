/// The receiver's half of a `Mailbox`: one FIFO ring per priority level in use, sorted from high to
/// low, so a pop is O(1) plus a scan over the (few) levels. Guarded by the mailbox's queue lock.
struct MailboxQueue {
    struct Level {
        let priority: Int
        var ring = MessageFIFO()
    }

    var levels: [Level] = []
    /// Messages held here (not counting the inbox).
    var count = 0
    /// Messages taken out so far, minus requeues (mirrored in `Mailbox.taken` for senders).
    var taken = 0
    /// The priority of the next message out (`Int.min` when empty).
    var headPriority: Int {
        for level in levels where !level.ring.isEmpty { return level.priority }
        return .min
    }

    var storageSlots: Int { levels.reduce(0) { $0 + $1.ring.capacity } }

    mutating func insert(_ m: BrokerMessage, atFront: Bool) {
        let i = levelIndex(m.priority)
        if atFront { levels[i].ring.prepend(m) } else { levels[i].ring.append(m) }
        count += 1
    }

    mutating func popFirst() -> BrokerMessage? {
        guard count > 0 else { return nil }
        for i in levels.indices where !levels[i].ring.isEmpty {
            count -= 1
            taken &+= 1
            return levels[i].ring.popFirst()
        }
        return nil
    }

    /// The index of the level for `priority`, inserted (empty) in order if missing.
    mutating func levelIndex(_ priority: Int) -> Int {
        var i = 0
        while i < levels.count {
            if levels[i].priority == priority { return i }
            if levels[i].priority < priority { break }
            i += 1
        }
        levels.insert(Level(priority: priority), at: i)
        return i
    }

    /// Moves arrivals in behind what is queued, keeping FIFO within each priority; `arrivals` is
    /// left empty.
    mutating func merge(_ arrivals: MessageFIFO) {
        count += arrivals.count
        while let m = arrivals.popFirst() { levels[levelIndex(m.priority)].ring.append(m) }
    }

    /// Frees the rings when none holds a message and one is larger than `slots` (0: always).
    mutating func releaseStorage(above slots: Int) {
        guard count == 0, levels.contains(where: { $0.ring.capacity > slots }) else { return }
        levels = []
    }

    /// Every queued message then every arrival, in delivery order: by priority, and within one
    /// priority queued ones (older) first.
    func ordered(with arrivals: [BrokerMessage]) -> [BrokerMessage] {
        var groups: [(priority: Int, messages: [BrokerMessage])] = levels.map { ($0.priority, $0.ring.elements()) }
        for m in arrivals {
            if let i = groups.firstIndex(where: { $0.priority == m.priority }) {
                groups[i].messages.append(m)
            } else {
                let at = groups.firstIndex { $0.priority < m.priority } ?? groups.count
                groups.insert((m.priority, [m]), at: at)
            }
        }
        return groups.flatMap(\.messages)
    }
}
