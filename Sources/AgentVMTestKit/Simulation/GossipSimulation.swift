import Gossip

/// N nodes of the pure gossip core on a `SimulatedNetwork`, in virtual time. Tests and the benchmark
/// kill, slow, partition and heal nodes, run the clock, and read each node's view. Every run is
/// fixed by its seed.
public struct GossipSimulation: Sendable {
    /// How the nodes first find each other.
    public enum Bootstrap: Sendable, Hashable {
        /// Nobody knows anybody: each node broadcasts a join.
        case broadcastJoin
        /// Each node knows `k` random other nodes as seeds.
        case randomSeeds(Int)
    }

    /// A membership change and who saw it when.
    public struct ObservedChange: Sendable, Hashable {
        public var at: Duration
        public var observer: NodeID
        public var change: MemberChange
    }

    struct SimNode: Sendable {
        var core: GossipMembership
        var running = true
        var slowFactor = 1.0
        var inbox: [(from: NodeID, message: GossipMessage)] = []
    }

    /// Virtual time.
    public let clock: ManualClock
    /// The network between the nodes.
    public var network: SimulatedNetwork<NodeID, GossipMessage>
    /// Settings every node starts with.
    public let settings: GossipSettings
    /// Every node's name, in creation order.
    public private(set) var ids: [NodeID]
    /// Every change any node reported (when `recordChanges`).
    public private(set) var changes: [ObservedChange] = []
    /// Whether to keep `changes` (the benchmark turns it off to save memory).
    public var recordChanges: Bool

    /// Nodes in a flat array, mutated in place: copying a core out and back would copy its whole
    /// member table on every message.
    var nodes: [SimNode] = []
    var slot: [NodeID: Int] = [:]
    var ticks = EventQueue<NodeID>()
    var rng: SeededRandom

    /// `count` nodes named `n0`, `n1`, …, each ticking first at a random point of its first round.
    public init(nodes count: Int, settings: GossipSettings = GossipSettings(), seed: UInt64 = 1,
                conditions: LinkConditions = .lan, bootstrap: Bootstrap = .broadcastJoin, recordChanges: Bool = true) {
        self.clock = ManualClock()
        self.settings = settings
        self.network = SimulatedNetwork(conditions: conditions)
        self.rng = SeededRandom(seed: seed)
        self.recordChanges = recordChanges
        self.ids = (0..<count).map { NodeID("n\($0)") }
        for id in ids {
            var seeds: [NodeID] = []
            if case .randomSeeds(let k) = bootstrap, count > 1 {
                while seeds.count < min(k, count - 1) {
                    let s = ids[Int.random(in: 0..<count, using: &rng)]
                    if s != id && !seeds.contains(s) { seeds.append(s) }
                }
            }
            slot[id] = nodes.count
            nodes.append(SimNode(core: GossipMembership(id: id, settings: settings, seeds: seeds)))
            ticks.push(id, at: settings.interval * rng.unit())
        }
    }

    /// Current virtual time.
    public var now: Duration { clock.now }

    // MARK: Running

    /// Runs every event up to `deadline`, then sets the clock to it.
    public mutating func run(until deadline: Duration) {
        while true {
            let nextDelivery = network.nextDeliveryTime
            let nextTick = ticks.nextTime
            // Deliveries first on a tie, so a message sent before a tick is seen by it.
            if let d = nextDelivery, d <= deadline, nextTick.map({ d <= $0 }) ?? true {
                guard let (at, delivery) = network.nextDelivery(notAfter: d) else { continue }
                clock.advance(to: at)
                deliver(delivery)
            } else if let t = nextTick, t <= deadline, let (at, id) = ticks.pop(notAfter: t) {
                clock.advance(to: at)
                tick(id)
            } else {
                break
            }
        }
        clock.advance(to: deadline)
    }

    /// Runs for `duration` of virtual time.
    public mutating func run(for duration: Duration) {
        run(until: now + duration)
    }

    /// Runs until `condition` holds (checked every `step`) or `timeout` passes; returns the virtual
    /// time it took, or nil on timeout.
    public mutating func run(until condition: (GossipSimulation) -> Bool, timeout: Duration,
                             step: Duration? = nil) -> Duration? {
        let start = now
        let step = step ?? settings.interval / 4
        while now - start <= timeout {
            if condition(self) { return now - start }
            run(for: step)
        }
        return condition(self) ? now - start : nil
    }

    mutating func deliver(_ d: SimulatedNetwork<NodeID, GossipMessage>.Delivery) {
        guard let i = slot[d.to], nodes[i].running else { return }
        if nodes[i].slowFactor > 1 {
            nodes[i].inbox.append((d.from, d.message))
            return
        }
        let out = nodes[i].core.receive(d.message, from: d.from, now: now)
        perform(out, by: d.to)
    }

    mutating func tick(_ id: NodeID) {
        guard let i = slot[id], nodes[i].running else { return }
        var out: [GossipDirective] = []
        // A slow node gets to its mail only when it gets to run at all.
        let inbox = nodes[i].inbox
        nodes[i].inbox = []
        for (from, message) in inbox {
            out += nodes[i].core.receive(message, from: from, now: now)
        }
        out += nodes[i].core.tick(now: now, using: &rng)
        perform(out, by: id)
    }

    mutating func perform(_ directives: [GossipDirective], by id: NodeID) {
        for d in directives {
            switch d {
            case .send(let to, let message):
                network.send(message, from: id, to: to, at: now, using: &rng)
            case .broadcast(let message):
                for other in ids where other != id {
                    network.send(message, from: id, to: other, at: now, using: &rng)
                }
            case .memberChanged(let change):
                if recordChanges { changes.append(ObservedChange(at: now, observer: id, change: change)) }
            case .scheduleTick(let after):
                let factor = slot[id].map { nodes[$0].slowFactor } ?? 1
                ticks.push(id, at: now + after * factor)
            }
        }
    }

    // MARK: Faults

    /// Stops a node as a crash would: no more ticks, messages to it are lost.
    public mutating func kill(_ id: NodeID) {
        guard let i = slot[id] else { return }
        nodes[i].running = false
        nodes[i].inbox = []
    }

    /// Starts a killed node again from scratch with `incarnation` (default 0, as a process that
    /// kept no state): it must learn from its peers that its old life is over.
    public mutating func restart(_ id: NodeID, incarnation: UInt64 = 0) {
        guard let i = slot[id] else { return }
        nodes[i] = SimNode(core: GossipMembership(id: id, settings: settings, incarnation: incarnation))
        ticks.push(id, at: now + settings.interval * rng.unit())
    }

    /// Makes a node run `factor` times slower: its rounds come `factor` × late and it handles its
    /// messages only when it runs. A factor of 1 makes it normal again.
    public mutating func slow(_ id: NodeID, factor: Double) {
        guard let i = slot[id] else { return }
        nodes[i].slowFactor = max(1, factor)
    }

    /// Graceful leave of one node; it stops afterwards.
    public mutating func leave(_ id: NodeID) {
        guard let i = slot[id], nodes[i].running else { return }
        let out = nodes[i].core.leave(now: now)
        nodes[i].running = false
        perform(out, by: id)
    }

    /// Cuts the network between two groups of nodes, both ways.
    public mutating func partition(_ side: [NodeID], from other: [NodeID]) {
        network.partition(side, from: other)
    }

    /// Restores every cut link.
    public mutating func heal() { network.heal() }

    // MARK: Views

    /// Whether a node is running.
    public func isRunning(_ id: NodeID) -> Bool { slot[id].map { nodes[$0].running } ?? false }

    /// The nodes currently running.
    public var runningIDs: [NodeID] { ids.filter { isRunning($0) } }

    /// A node's core, to read its view and counters.
    public func core(_ id: NodeID) -> GossipMembership? { slot[id].map { nodes[$0].core } }

    /// How `observer` sees `target`, or nil when it does not know it (or pruned it).
    public func member(_ target: NodeID, seenBy observer: NodeID) -> Member? {
        slot[observer].flatMap { nodes[$0].core.member(target) }
    }

    /// `observer`'s view: status of every member it knows.
    public func view(of observer: NodeID) -> [NodeID: MemberStatus] {
        var out: [NodeID: MemberStatus] = [:]
        for m in core(observer)?.members ?? [] { out[m.id] = m.status }
        return out
    }

    /// Whether every running node sees exactly the running nodes as alive.
    public var isConverged: Bool {
        let running = runningIDs
        for node in nodes where node.running {
            guard node.core.clusterSize == running.count else { return false }
            for other in running where node.core.status(of: other) != .alive { return false }
        }
        return true
    }

    /// Whether every running node other than `target` holds `target` with `status`.
    public func allRunning(see target: NodeID, as status: MemberStatus) -> Bool {
        nodes.allSatisfy { !$0.running || $0.core.id == target || $0.core.status(of: target) == status }
    }

    /// Messages the cores produced (a broadcast counts once, as one publish).
    public var messagesSent: Int {
        nodes.reduce(0) { $0 + $1.core.stats.messagesSent }
    }
}
