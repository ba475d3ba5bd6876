import Gossip
import NATSBridge

/// How a node joins its cluster: the cluster's name, how to reach NATS, and the gossip settings.
/// Built from `cluster:` in agentvm.yml (`init(config:nodeID:)`) or set by hand in code and tests.
public struct ClusterOptions: Sendable {
    /// The cluster's name; it namespaces every subject (`agentvm.<name>.…`), so clusters can share
    /// a NATS server. One subject token: 1–128 characters of `A–Z a–z 0–9 - _`.
    public var name: String
    /// NATS connection options. Defaults here differ from `NATSOptions`' in one place:
    /// `retryOnFailedConnect` is on, so a node starts (and runs its processes) while NATS is down
    /// and joins when it comes up.
    public var nats: NATSOptions
    /// Gossip settings (docs/gossip.md gives each default and its source).
    public var gossip: GossipSettings
    /// Free-form labels this node reports in its health, e.g. `zone: a`.
    public var labels: [String: String]
    /// How often the node's health (processes, queue depth, CPU, memory) is sampled into its
    /// heartbeat. Default 1 s: health feeds placement, which needs no finer grain, and sampling
    /// the kernel every 200 ms round would cost more than it tells.
    public var healthInterval: Duration

    /// Options for cluster `name` over the NATS servers `servers`.
    public init(name: String = "default", servers: [String] = ["nats://127.0.0.1:4222"],
                gossip: GossipSettings = GossipSettings(), labels: [String: String] = [:],
                healthInterval: Duration = .seconds(1)) {
        self.name = name
        var nats = NATSOptions(servers: servers)
        nats.retryOnFailedConnect = true
        self.nats = nats
        self.gossip = gossip
        self.labels = labels
        self.healthInterval = healthInterval
    }

    /// Options from `cluster:` in agentvm.yml. `cluster.gossip` fields left out keep the Gossip
    /// module's defaults; `removeAfter` is `GossipSettings.deadRetention` and `localHealthMax` is
    /// `maxLocalHealth`.
    public init(config: NodeConfig.Cluster) {
        self.init(name: config.name, servers: config.nats, gossip: Self.settings(config.gossip))
        if let user = config.user {
            nats.credentials = .userPassword(user: user, password: config.password ?? "")
        } else if let token = config.token {
            nats.credentials = .token(token)
        } else if let creds = config.credentials {
            nats.credentials = .credsFile(creds)
        }
    }

    /// `cluster.gossip` mapped onto `GossipSettings`, every absent field at its default.
    public static func settings(_ g: NodeConfig.Gossip) -> GossipSettings {
        let d = GossipSettings()
        return GossipSettings(
            interval: g.interval ?? d.interval, fanout: g.fanout ?? d.fanout, suspectAfter: d.suspectAfter,
            suspicionMin: g.suspicionMin ?? d.suspicionMin, suspicionMax: g.suspicionMax ?? d.suspicionMax,
            suspicionConfirmations: d.suspicionConfirmations, maxLocalHealth: g.localHealthMax ?? d.maxLocalHealth,
            lateTickFactor: d.lateTickFactor, deadRetention: g.removeAfter ?? d.deadRetention,
            tombstoneRetention: d.tombstoneRetention, reconnectInterval: d.reconnectInterval,
            maxDigestEntries: d.maxDigestEntries, newsTransmissions: d.newsTransmissions, limits: d.limits)
    }
}
