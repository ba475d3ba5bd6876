/// Live processes by id, plus a bounded memory of terminated ones.
struct ProcessTable {
    var live: [String: ProcessEntry] = [:]
    var terminated: [String: ProcessSnapshot] = [:]
    private var ring: [String] = []
    private var ringNext = 0

    /// Remembers a terminated process, forgetting the oldest beyond `limit`.
    mutating func retire(_ snapshot: ProcessSnapshot, limit: Int) {
        live[snapshot.id] = nil
        guard limit > 0 else { return }
        terminated[snapshot.id] = snapshot
        if ring.count < limit {
            ring.append(snapshot.id)
        } else {
            let old = ring[ringNext]
            if old != snapshot.id { terminated[old] = nil }
            ring[ringNext] = snapshot.id
            ringNext = (ringNext + 1) % limit
        }
    }
}
