// swift-tools-version: 6.0
// AgentVM for Swift: a runtime that runs AI-agent processes on one machine and across a cluster.
// No SwiftPM package dependencies, by design: C libraries come in through system library targets.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "AgentVM",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ClusterCore", targets: ["ClusterCore"]),
        .library(name: "NodeAgent", targets: ["NodeAgent"]),
        .executable(name: "agentvm-node", targets: ["agentvm-node"]),
        .executable(name: "agentvm-bench", targets: ["agentvm-bench"]),
    ],
    targets: [
        // C libraries from Debian packages, each through pkg-config and a one-line shim header.
        .systemLibrary(name: "CNATS", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),

        // Child processes: posix_spawn with a clean signal mask and no inherited descriptors, pipes or
        // log files, signals, waits with a deadline, always reaped. Exec agents and test fixtures.
        .target(name: "ChildProcess", swiftSettings: strict),
        // The transport abstraction (publish, subscribe, request) and its in-process implementation.
        .target(name: "Transport", swiftSettings: strict),
        // The project's one JSON codec: a pull parser and a writer byte-identical to JSONEncoder with
        // sorted keys, for the replication wire format and JSONValue.
        .target(name: "JSONCodec", swiftSettings: strict),
        // The local kernel: agents, processes, events, memory, broker, tools, scheduler, contracts,
        // checkpoints. No network code.
        .target(name: "ClusterCore", dependencies: ["JSONCodec", "CSQLite"], swiftSettings: strict),
        // libnats wrapped once: connections, pub/sub, request/reply, JetStream; implements Transport.
        .target(name: "NATSBridge", dependencies: ["CNATS", "Transport"], swiftSettings: strict),
        // Membership and failure detection: a pure core plus a thin shell over Transport.
        .target(name: "Gossip", dependencies: ["Transport"], swiftSettings: strict),
        // Replicated data types and delta replication: a pure core plus a thin shell over Transport.
        .target(name: "CRDT", dependencies: ["Transport", "JSONCodec"], swiftSettings: strict),
        // One node: wires the kernel and cluster services, HTTP API, config, lifecycle.
        .target(
            name: "NodeAgent",
            dependencies: ["ClusterCore", "Transport", "NATSBridge", "Gossip", "CRDT", "JSONCodec", "ChildProcess", "CYAML", "CMicroHTTPD", "CSQLite"],
            swiftSettings: strict),
        .executableTarget(name: "agentvm-node", dependencies: ["NodeAgent"], swiftSettings: strict),
        .executableTarget(
            name: "agentvm-bench",
            dependencies: ["ClusterCore", "NodeAgent", "Transport", "NATSBridge", "Gossip", "CRDT", "CSQLite", "CNATS", "AgentVMTestKit", "ChildProcess"],
            swiftSettings: strict),
        // A Swift program that runs an embedded node in its own process.
        .executableTarget(name: "EmbeddedNodeExample", dependencies: ["NodeAgent", "ClusterCore"],
                          path: "examples/EmbeddedNode", swiftSettings: strict),

        // Test kit: the deterministic simulator (manual clock, seeded randomness, simulated network)
        // and fixtures for real processes (nats-server, agentvm-node, temp dirs, deadlines).
        .target(name: "AgentVMTestKit", dependencies: ["Transport", "Gossip", "ChildProcess"], swiftSettings: strict),

        .testTarget(name: "ChildProcessTests", dependencies: ["ChildProcess"], swiftSettings: strict),
        .testTarget(name: "JSONCodecTests", dependencies: ["JSONCodec"], swiftSettings: strict),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "AgentVMTestKit"], swiftSettings: strict),
        .testTarget(name: "ClusterCoreTests", dependencies: ["ClusterCore", "JSONCodec", "AgentVMTestKit"], swiftSettings: strict),
        .testTarget(name: "NATSBridgeTests", dependencies: ["NATSBridge", "Transport", "AgentVMTestKit", "ChildProcess"], swiftSettings: strict),
        .testTarget(name: "GossipTests", dependencies: ["Gossip", "Transport", "AgentVMTestKit"], swiftSettings: strict),
        .testTarget(name: "CRDTTests", dependencies: ["CRDT", "JSONCodec", "Transport", "AgentVMTestKit"], swiftSettings: strict),
        .testTarget(
            name: "NodeAgentTests",
            dependencies: ["NodeAgent", "ClusterCore", "CRDT", "JSONCodec", "Transport", "NATSBridge", "AgentVMTestKit", "ChildProcess"],
            swiftSettings: strict),
    ]
)
