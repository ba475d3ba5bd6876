/// What changed between two configs, for hot reload: non-breaking changes are applied live,
/// a breaking one makes the node refuse the whole reload with the reasons.
public struct ConfigChange: Sendable, Hashable, CustomStringConvertible {
    /// One difference, with the field it concerns and, when breaking, why.
    public struct Item: Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var breaking: Bool
        public var reason: String

        public init(path: String, breaking: Bool, reason: String) {
            self.path = path
            self.breaking = breaking
            self.reason = reason
        }

        public var description: String { "\(path): \(reason)" }
    }

    public var items: [Item] = []

    public var agentsAdded: [String] = []
    public var agentsChanged: [String] = []
    public var agentsRemoved: [String] = []
    public var channelsAdded: [String] = []
    public var channelsChanged: [String] = []
    public var channelsRemoved: [String] = []
    public var toolsAdded: [String] = []
    public var toolsRemoved: [String] = []

    public init() {}

    public var isEmpty: Bool { items.isEmpty }
    public var isBreaking: Bool { items.contains { $0.breaking } }
    public var breaking: [Item] { items.filter(\.breaking) }
    public var nonBreaking: [Item] { items.filter { !$0.breaking } }

    /// One change per line, breaking ones marked.
    public var description: String {
        if items.isEmpty { return "no changes" }
        return items.map { ($0.breaking ? "breaking: " : "") + $0.description }.joined(separator: "\n")
    }
}

extension NodeConfig {
    /// Classifies the changes from `old` to `new`.
    ///
    /// Non-breaking: agents added or changed (new processes use the new definition), channels
    /// added or re-tuned, tools enabled or disabled, `env`, `maxProcesses`, `debug`,
    /// `node.logLevel`, `node.shutdownGrace`. Breaking: anything that needs a restart or would
    /// strand state: `name`, `node.id/listen/data/token`, `memory` (`memory.replicated` included), `cluster`, a channel's type,
    /// removing a channel or an agent.
    public static func diff(_ old: NodeConfig, _ new: NodeConfig) -> ConfigChange {
        var c = ConfigChange()
        func add(_ path: String, breaking: Bool, _ reason: String) {
            c.items.append(.init(path: path, breaking: breaking, reason: reason))
        }
        if old.name != new.name { add("name", breaking: true, "the kernel name changed from '\(old.name)' to '\(new.name)'; restart the node") }
        if old.debug != new.debug { add("debug", breaking: false, "debug \(new.debug ? "on" : "off")") }
        if old.maxProcesses != new.maxProcesses {
            add("maxProcesses", breaking: false, "changed from \(old.maxProcesses) to \(new.maxProcesses)")
        }
        if old.memory.backend != new.memory.backend {
            add("memory.backend", breaking: true, "the memory backend changed from \(old.memory.backend.rawValue) to \(new.memory.backend.rawValue); existing memory would be left behind, restart the node")
        } else if old.memory.path != new.memory.path {
            add("memory.path", breaking: true, "the memory file moved; restart the node")
        }
        if Set(old.memory.replicated) != Set(new.memory.replicated) {
            let added = Set(new.memory.replicated).subtracting(old.memory.replicated).sorted()
            let removed = Set(old.memory.replicated).subtracting(new.memory.replicated).sorted()
            let what = [added.isEmpty ? nil : "added " + added.joined(separator: ", "),
                        removed.isEmpty ? nil : "removed " + removed.joined(separator: ", ")].compactMap { $0 }
            add("memory.replicated", breaking: true, "replicated namespaces \(what.joined(separator: "; ")); running processes would see those namespaces switch between their local and replicated contents, restart the node")
        }
        if old.node.id != new.node.id { add("node.id", breaking: true, "the node id changed; a node keeps its id for life, restart it") }
        if old.node.allowRemote != new.node.allowRemote { add("node.allowRemote", breaking: true, "allowRemote changed to \(new.node.allowRemote); restart the node") }
        if old.node.listen != new.node.listen { add("node.listen", breaking: true, "the API address changed from \(old.node.listen) to \(new.node.listen); restart the node") }
        if old.node.data != new.node.data { add("node.data", breaking: true, "the data directory changed; restart the node") }
        if old.node.token != new.node.token { add("node.token", breaking: true, "the API token changed; restart the node") }
        if old.node.logLevel != new.node.logLevel {
            add("node.logLevel", breaking: false, "log level \(old.node.logLevel.rawValue) -> \(new.node.logLevel.rawValue)")
        }
        if old.node.shutdownGrace != new.node.shutdownGrace {
            add("node.shutdownGrace", breaking: false, "shutdown grace \(ConfigDuration.format(new.node.shutdownGrace))")
        }
        if old.cluster != new.cluster {
            let what = old.cluster == nil ? "joining a cluster" : new.cluster == nil ? "leaving the cluster" : "the cluster settings changed"
            add("cluster", breaking: true, "\(what) needs a restart")
        }
        if old.env != new.env { add("env", breaking: false, "environment changed; new exec processes get the new values") }

        let oldAgents = Dictionary(old.agents.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newAgents = Dictionary(new.agents.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for a in new.agents {
            if let o = oldAgents[a.name] {
                if o != a {
                    c.agentsChanged.append(a.name)
                    add("agents.\(a.name)", breaking: false, "agent changed; new processes use the new definition")
                }
            } else {
                c.agentsAdded.append(a.name)
                add("agents.\(a.name)", breaking: false, "agent added")
            }
        }
        for a in old.agents where newAgents[a.name] == nil {
            c.agentsRemoved.append(a.name)
            add("agents.\(a.name)", breaking: true, "agent removed; its processes would lose their definition, restart the node")
        }

        let oldChannels = Dictionary(old.channels.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newChannels = Dictionary(new.channels.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for ch in new.channels {
            if let o = oldChannels[ch.name] {
                if o.type != ch.type {
                    c.channelsChanged.append(ch.name)
                    add("channels.\(ch.name).type", breaking: true, "channel type changed from \(o.type.rawValue) to \(ch.type.rawValue); subscribers depend on it, restart the node")
                } else if o != ch {
                    c.channelsChanged.append(ch.name)
                    add("channels.\(ch.name)", breaking: false, "channel settings changed")
                }
            } else {
                c.channelsAdded.append(ch.name)
                add("channels.\(ch.name)", breaking: false, "channel added")
            }
        }
        for ch in old.channels where newChannels[ch.name] == nil {
            c.channelsRemoved.append(ch.name)
            add("channels.\(ch.name)", breaking: true, "channel removed; its subscribers and history would be dropped, restart the node")
        }

        let oldTools = Set(old.tools), newTools = Set(new.tools)
        c.toolsAdded = new.tools.filter { !oldTools.contains($0) }
        c.toolsRemoved = old.tools.filter { !newTools.contains($0) }
        for t in c.toolsAdded { add("tools", breaking: false, "tool '\(t)' enabled") }
        for t in c.toolsRemoved { add("tools", breaking: false, "tool '\(t)' disabled") }
        return c
    }
}
