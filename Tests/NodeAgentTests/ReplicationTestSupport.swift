import AgentVMTestKit
import ClusterCore
import Foundation
import NodeAgent
import Synchronization
import Transport

/// A wall clock the test moves by hand, shared by every replica of a test.
final class TestWallClock: Sendable {
    private let ms = Mutex<Int64>(1_764_000_000_000)
    var now: Int64 { ms.withLock { $0 } }
    func advance(_ by: Int64) { ms.withLock { $0 += by } }
    var function: @Sendable () -> Int64 { { [self] in self.now } }
}

/// A transport over one `InProcessTransport` that drops a seeded share of the replication
/// messages and every message crossing a partition: the in-process stand-in for a lossy,
/// partitioned network. Sender and receiver come from the subject (`…crdt.<to>.<from>`).
final class LossyTransport: Transport {
    let inner: InProcessTransport
    private let state: Mutex<State>

    struct State {
        var random: AgentVMTestKit.SeededRandom
        var loss: Double
        var cut: Set<[String]> = []
        var dropped = 0
    }

    init(inner: InProcessTransport, seed: UInt64, loss: Double) {
        self.inner = inner
        self.state = Mutex(State(random: AgentVMTestKit.SeededRandom(seed: seed), loss: loss))
    }

    /// Cuts every link between `side` and `other`, both ways.
    func partition(_ side: [String], from other: [String]) {
        state.withLock { s in
            for a in side { for b in other { s.cut.insert([a, b]); s.cut.insert([b, a]) } }
        }
    }

    func heal() { state.withLock { $0.cut.removeAll() } }
    func setLoss(_ p: Double) { state.withLock { $0.loss = p } }

    func publish(_ subject: String, payload: Data, replyTo: String?) throws {
        let tokens = subject.split(separator: ".").map(String.init)
        let drop = state.withLock { s -> Bool in
            guard tokens.count >= 2 else { return false }
            let link = [tokens[tokens.count - 1], tokens[tokens.count - 2]]
            if s.cut.contains(link) || s.random.chance(s.loss) {
                s.dropped += 1
                return true
            }
            return false
        }
        if drop { return }
        try inner.publish(subject, payload: payload, replyTo: replyTo)
    }

    func subscribe(_ subject: String, queue: String?) throws -> TransportSubscription {
        try inner.subscribe(subject, queue: queue)
    }

    func request(_ subject: String, payload: Data, timeout: Duration) async throws -> TransportMessage {
        try await inner.request(subject, payload: payload, timeout: timeout)
    }

    func flush(timeout: Duration) async throws {}
    func newInbox() -> String { inner.newInbox() }
    func close() { inner.close() }
}

/// N replicas in one process, each with its own SQLite file, over one transport.
final class ReplicaGroup: Sendable {
    let ids: [String]
    let directory: TempDirectory
    let clock: TestWallClock
    let transport: any Transport
    private let state = Mutex<[String: (ReplicatedMemory, SQLiteDatabase)]>([:])

    init(count: Int, transport: any Transport, clock: TestWallClock = TestWallClock()) throws {
        ids = (1...count).map { "n\($0)" }
        directory = try TempDirectory(prefix: "replication")
        self.clock = clock
        self.transport = transport
    }

    static func options() -> ReplicationOptions {
        var o = ReplicationOptions(cluster: "test", tickInterval: .milliseconds(20))
        o.replicator.antiEntropyInterval = 100
        o.replicator.resendAfter = 100
        return o
    }

    /// Starts (or restarts) replica `id` from its SQLite file.
    @discardableResult
    func start(_ id: String) async throws -> ReplicatedMemory {
        let db = try SQLiteDatabase(path: directory.file("\(id).sqlite").path)
        let memory = try await ReplicatedMemory(nodeID: id, options: Self.options(), database: db, clock: clock.function)
        let ids = self.ids
        try await memory.start(transport: transport, peers: { [weak self] in
            Set(self?.running.filter { ids.contains($0) } ?? [])
        })
        state.withLock { $0[id] = (memory, db) }
        return memory
    }

    func startAll() async throws { for id in ids { try await start(id) } }

    var running: [String] { state.withLock { Array($0.keys) } }

    subscript(id: String) -> ReplicatedMemory {
        get throws {
            guard let m = state.withLock({ $0[id]?.0 }) else { throw ReplicationTestError("replica \(id) is not running") }
            return m
        }
    }

    /// Stops replica `id` and closes its database (as a process exit would).
    func stop(_ id: String) async {
        guard let (m, db) = state.withLock({ $0.removeValue(forKey: id) }) else { return }
        await m.stop()
        db.close()
    }

    func stopAll() async { for id in running { await stop(id) } }

    /// Waits until every running replica lists the same shared entries; returns them.
    func converged(deadline: Duration = .seconds(20), _ check: ([JSONValue]) -> Bool = { _ in true }) async throws -> Bool {
        try await waitUntil(deadline: deadline, poll: .milliseconds(20)) {
            var seen: [[JSONValue]] = []
            for id in running {
                let values = try self[id].list("shared").map { JSONValue.array([.string($0.key), $0.entry.value]) }
                seen.append(values)
            }
            guard let first = seen.first else { return true }
            return seen.allSatisfy { $0 == first } && check(first)
        }
    }
}

struct ReplicationTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
