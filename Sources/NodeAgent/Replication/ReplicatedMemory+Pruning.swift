import ClusterCore
import CRDT
import Foundation

/// Removed-node pruning (docs/crdt.md, "Removed-node pruning") driven by membership: counters and
/// sets keep one entry per node that ever wrote them, so the entries of a node that left for good
/// are collapsed into a survivor, or the state would grow with every node that ever existed.
///
/// A member that gossip reports `dead` or `left`, and that has not come back for
/// `ReplicationOptions.pruneAfter`, is pruned. The decision is itself replicated: the member's id
/// is added to an OR-set under the reserved key `__pruned` (outside every namespace), and every
/// replica that sees an id there prunes it — nodes that never saw the member go, and nodes that
/// restart, included. A pruned id must never write again: a node that comes back under it has its
/// counter and set writes dropped by the others (it is logged as an error).
extension ReplicatedMemory {
    /// The replicated set of pruned replica ids.
    static let prunedKey = "__pruned"

    struct Pruning {
        var task: Task<Void, Never>
        /// Pruned ids already reported as present in membership.
        var warned: Set<String> = []
    }

    /// Table `replicated_memory_departed`: the members seen down and since when (wall ms).
    static let departedSchema = """
        CREATE TABLE IF NOT EXISTS replicated_memory_departed (
            replica TEXT PRIMARY KEY,
            down_since INTEGER NOT NULL
        );
        """

    /// Creates the table if needed and reads it.
    static func loadDeparted(_ database: SQLiteDatabase) async throws -> [String: Int64] {
        try await database.write { conn in try conn.executeScript(departedSchema) }
        let rows = try database.read { conn in
            try conn.query("SELECT replica, down_since FROM replicated_memory_departed") { s in (s.text(0), s.int64(1)) }
        }
        return Dictionary(rows, uniquingKeysWith: { a, _ in a })
    }

    /// Replaces the table's rows with `downSince`.
    func saveDeparted(_ downSince: [String: Int64]) async throws {
        let rows = downSince.sorted { $0.key < $1.key }
        try await store.database.write { conn in
            try conn.execute("DELETE FROM replicated_memory_departed")
            for (replica, since) in rows {
                try conn.execute("INSERT INTO replicated_memory_departed (replica, down_since) VALUES (?, ?)",
                                 [.text(replica), .integer(since)])
            }
        }
    }

    /// Starts watching membership every `interval`: `members` returns each known member's id and
    /// gossip status (`alive`, `suspect`, `dead`, `left`). Idempotent.
    public func startPruning(members: @escaping @Sendable () -> [String: String], every interval: Duration = .seconds(1)) {
        guard pruning == nil else { return }
        let task = Task { [weak self] in
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                guard let self else { return }
                await self.observeMembership(members())
            }
        }
        pruning = Pruning(task: task)
    }

    /// Stops watching membership. Idempotent.
    public func stopPruning() {
        pruning?.task.cancel()
        pruning = nil
    }

    /// The replica ids pruned so far (by this node's decision or another's).
    public nonisolated var prunedReplicas: Set<String> {
        state.withLock { Set($0.replicator.prunedReplicas.map(\.value)) }
    }

    /// One round: members down for `pruneAfter` are added to the replicated decision; every id in
    /// it not yet pruned here is pruned.
    func observeMembership(_ members: [String: String]) async {
        let before = departed
        let due = departed.observe(members, now: clock(), after: options.pruneAfter, me: nodeID)
        if departed != before {
            do { try await saveDeparted(departed.downSince) } catch {
                log("replicated memory: cannot persist departed members (kept in memory until the next change): \(error)")
            }
        }
        var changed: Set<String> = []
        if !due.isEmpty {
            let me = replicator.me
            replicator.update(Self.prunedKey, empty: .set(ORSet())) { v in
                v.modifySet { s in for id in due { s.add(.string(id), by: me) } }
            }
            changed.insert(Self.prunedKey)
            log("replicated memory: members \(due.joined(separator: ", ")) have been gone for \(options.pruneAfter) ms; pruning them")
        }
        changed.formUnion(applyPruningDecisions())
        for (id, status) in members where status == "alive" || status == "suspect" {
            guard replicator.prunedReplicas.contains(ReplicaID(id)), pruning?.warned.insert(id).inserted == true else { continue }
            log("replicated memory: member \(id) is back, but it was pruned: its counter and set writes are ignored by every replica; give it a new node id")
        }
        guard !changed.isEmpty else { return }
        do { try await persist(changed) } catch {
            dirty.formUnion(changed)
            log("replicated memory: cannot persist pruned keys (retrying): \(error)")
        }
    }

    /// Prunes every id of the replicated decision not yet pruned here; returns the keys changed.
    func applyPruningDecisions() -> Set<String> {
        guard case .set(let decided)? = replicator[Self.prunedKey] else { return [] }
        var changed: Set<String> = []
        for case .string(let id) in decided.elements.sorted(by: { "\($0)" < "\($1)" }) {
            let replica = ReplicaID(id)
            guard !id.isEmpty, !replicator.prunedReplicas.contains(replica) else { continue }
            if id == nodeID {
                log("replicated memory: this node's id \(id) was pruned by the cluster; its counter and set writes are ignored by every other replica; restart it under a new node id")
            }
            let keys = replicator.pruneRemoved(replica)
            changed.formUnion(keys)
        }
        return changed
    }
}

/// When members went down, and which have stayed down long enough to be pruned. Pure: fed
/// membership snapshots and the time.
struct RemovedMemberTracker: Sendable, Hashable {
    /// Members seen `dead` or `left` and not seen up since, with when they were first seen down.
    /// A member gossip drops from its table (removed) keeps its entry here.
    private(set) var downSince: [String: Int64]

    init(downSince: [String: Int64] = [:]) { self.downSince = downSince }

    /// Feeds one snapshot (id → gossip status) at `now` (ms); returns the ids down for at least
    /// `after` ms, sorted, and forgets them.
    mutating func observe(_ members: [String: String], now: Int64, after: Int64, me: String) -> [String] {
        for (id, status) in members where id != me {
            if status == "dead" || status == "left" {
                if downSince[id] == nil { downSince[id] = now }
            } else {
                downSince[id] = nil
            }
        }
        let due = downSince.filter { now - $0.value >= after }.map(\.key).sorted()
        for id in due { downSince[id] = nil }
        return due
    }
}
