import Foundation

/// `AGENTVM_*` environment variables that override fields of agentvm.yml. They win over the
/// file; command-line flags (applied by the node) win over them.
public enum ConfigOverrides {
    /// Variable name → dotted field path. `AGENTVM_NATS` is a comma-separated list of URLs.
    public static let mapping: [(variable: String, path: String)] = [
        ("AGENTVM_NAME", "name"),
        ("AGENTVM_MAX_PROCESSES", "maxProcesses"),
        ("AGENTVM_MEMORY_BACKEND", "memory.backend"),
        ("AGENTVM_MEMORY_PATH", "memory.path"),
        ("AGENTVM_NODE_ID", "node.id"),
        ("AGENTVM_NODE_LISTEN", "node.listen"),
        ("AGENTVM_DATA", "node.data"),
        ("AGENTVM_TOKEN", "node.token"),
        ("AGENTVM_LOG_LEVEL", "node.logLevel"),
        ("AGENTVM_SHUTDOWN_GRACE", "node.shutdownGrace"),
        ("AGENTVM_CLUSTER", "cluster.name"),
        ("AGENTVM_NATS", "cluster.nats"),
        ("AGENTVM_GOSSIP_INTERVAL", "cluster.gossip.interval"),
        ("AGENTVM_GOSSIP_FANOUT", "cluster.gossip.fanout"),
    ]

    /// Fields listed as comma-separated in their variable.
    static let listPaths: Set<String> = ["cluster.nats"]

    /// Returns `root` with every set override written in; each new value's mark names its variable.
    static func apply(_ root: YAMLNode, environment: [String: String]) -> YAMLNode {
        var node = root
        for (variable, path) in mapping {
            guard let raw = environment[variable] else { continue }
            let mark = Mark(line: 0, column: 0, source: variable)
            let value: YAMLNode
            if listPaths.contains(path) {
                let items = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                value = YAMLNode(.sequence(items.map { YAMLNode(.scalar(YAMLScalar($0)), mark: mark) }), mark: mark)
            } else {
                value = YAMLNode(.scalar(YAMLScalar(raw)), mark: mark)
            }
            node = set(node, path: path.split(separator: ".").map(String.init)[...], value: value, mark: mark)
        }
        return node
    }

    static func set(_ node: YAMLNode, path: ArraySlice<String>, value: YAMLNode, mark: Mark) -> YAMLNode {
        guard let key = path.first else { return value }
        var entries = node.entries ?? []
        if let i = entries.firstIndex(where: { $0.key == key }) {
            entries[i].value = set(entries[i].value, path: path.dropFirst(), value: value, mark: mark)
            // Issues point at the key; an overridden field must name the variable, not the file.
            if path.count == 1 { entries[i].keyMark = mark }
        } else {
            let child = set(YAMLNode(.mapping([]), mark: mark), path: path.dropFirst(), value: value, mark: mark)
            entries.append(YAMLEntry(key: key, keyMark: mark, value: child))
        }
        return YAMLNode(.mapping(entries), mark: node.entries == nil ? mark : node.mark)
    }
}
