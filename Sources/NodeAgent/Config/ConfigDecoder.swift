import ClusterCore

/// Turns a substituted, overridden YAML tree into a `NodeConfig`, recording every issue.
struct ConfigDecoder {
    let sink: ConfigIssueSink
    let handlers: [String]
    let knownTools: [String]?
    let baseDirectory: String?

    static let topKeys = ["name", "debug", "maxProcesses", "memory", "agents", "tools", "channels", "env", "node", "cluster"]
    static let agentKeys = ["description", "handler", "command", "tools", "permissions", "contract", "limits",
                            "memory", "replicas", "restart", "exec", "config", "capabilities"]

    func decode(_ root: YAMLNode) -> NodeConfig {
        var c = NodeConfig()
        guard let r = ConfigFieldReader(root, path: "", sink: sink, known: Self.topKeys, baseDirectory: baseDirectory) else { return c }
        if let v = r.nonEmptyString("name") { c.name = v }
        if let v = r.bool("debug") { c.debug = v }
        if let v = r.int("maxProcesses", min: 1) { c.maxProcesses = v }
        if let m = r.child("memory", known: ["backend", "path", "replicated"]) {
            if let v = m.choice("backend", NodeConfig.MemoryBackend.self, noun: "memory backend") { c.memory.backend = v }
            c.memory.path = m.filePath("path")
            if c.memory.backend == .memory, let e = m.entry("path") {
                m.fail(e, "'path' is only used by the sqlite backend", hint: "remove it or set 'backend: sqlite'")
            }
            c.memory.replicated = decodeReplicated(m)
        }
        if let list = r.stringList("tools") {
            c.tools = list
            checkToolNames(list, in: r, key: "tools")
        }
        if let env = r.child("env", known: []) {
            for e in env.entries {
                guard let s = e.value.scalar else {
                    env.fail(e, "expected a string, got \(e.value.kindDescription)")
                    continue
                }
                c.env[e.key] = s.value
            }
        }
        if let a = r.child("agents", known: []) {
            for e in a.entries { if let agent = decodeAgent(e, parent: a) { c.agents.append(agent) } }
        }
        if let ch = r.child("channels", known: []) {
            for e in ch.entries { if let channel = decodeChannel(e, parent: ch) { c.channels.append(channel) } }
        }
        if let n = r.child("node", known: ["id", "listen", "allowRemote", "data", "token", "logLevel", "shutdownGrace"]) {
            c.node = decodeNode(n)
        }
        if let cl = r.child("cluster", known: ["name", "nats", "user", "password", "token", "credentials", "gossip"]) {
            c.cluster = decodeCluster(cl)
        }
        return c
    }

    func checkName(_ e: YAMLEntry, in r: ConfigFieldReader, noun: String) -> Bool {
        let ok = e.key.first.map { $0.isASCII && ($0.isLetter || $0.isNumber) } ?? false
            && e.key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
        if !ok {
            r.fail(e, "'\(e.key)' is not a valid \(noun) name",
                   hint: "use letters, digits, '_', '-' and '.', starting with a letter or digit")
        }
        return ok
    }

    func checkToolNames(_ names: [String], in r: ConfigFieldReader, key: String) {
        guard let known = knownTools, let e = r.entries.first(where: { $0.key == key }), let items = e.value.sequence else { return }
        for (i, name) in names.enumerated() where !known.contains(name) && i < items.count {
            sink.add(items[i].mark, "\(r.sub(key))[\(i)]", "unknown tool '\(name)'", hint: ConfigSuggest.hint(name, in: known.sorted()))
        }
    }

    func decodeAgent(_ e: YAMLEntry, parent: ConfigFieldReader) -> NodeConfig.Agent? {
        guard checkName(e, in: parent, noun: "agent"),
              let r = ConfigFieldReader(e.value, path: parent.sub(e.key), sink: sink, known: Self.agentKeys, baseDirectory: baseDirectory)
        else { return nil }
        var a = NodeConfig.Agent(name: e.key, handler: "")
        if let h = r.nonEmptyString("handler"), let he = r.entry("handler") {
            if handlers.contains(h) {
                a.handler = h
            } else {
                r.fail(he, "unknown handler '\(h)'", hint: ConfigSuggest.hint(h, in: handlers))
            }
        } else if r.entry("handler") == nil {
            sink.add(e.keyMark, r.path + ".handler", "missing required field 'handler'",
                     hint: "one of: " + handlers.joined(separator: ", "))
        }
        if let v = r.string("description") { a.description = v }
        a.command = r.stringList("command")
        if a.handler == "exec", a.command?.isEmpty ?? true {
            if let ce = r.entries.first(where: { $0.key == "command" }) {
                r.fail(ce, "the exec handler needs a non-empty command", hint: "an argv list, e.g. [python3, agents/echo.py]")
            } else {
                sink.add(e.keyMark, r.path + ".command", "missing required field 'command' for the exec handler",
                         hint: "an argv list, e.g. [python3, agents/echo.py]")
            }
        } else if a.handler != "exec", !a.handler.isEmpty, let ce = r.entry("command") {
            r.fail(ce, "'command' is only used by the exec handler", hint: "remove it or set 'handler: exec'")
        }
        if let t = r.stringList("tools") {
            a.tools = t
            checkToolNames(t, in: r, key: "tools")
        }
        if let p = r.child("permissions", known: ["level", "sideEffects"]) {
            if let v = p.choice("level", NodeConfig.PermissionLevel.self, noun: "permission level") { a.permissions.level = v }
            if let list = p.stringList("sideEffects"), let se = p.entries.first(where: { $0.key == "sideEffects" }) {
                let names = NodeConfig.SideEffect.allCases.map(\.rawValue)
                var effects: [NodeConfig.SideEffect] = []
                for (i, s) in list.enumerated() {
                    if let v = NodeConfig.SideEffect(rawValue: s) {
                        effects.append(v)
                    } else {
                        let mark = se.value.sequence.flatMap { $0.indices.contains(i) ? $0[i].mark : nil } ?? se.keyMark
                        sink.add(mark, "\(p.sub("sideEffects"))[\(i)]", "unknown side effect '\(s)'", hint: ConfigSuggest.hint(s, in: names))
                    }
                }
                a.permissions.sideEffects = effects
            }
        }
        if let c = r.child("contract", known: ["input", "output", "maxLatency", "maxCost"]) {
            var contract = NodeConfig.Contract()
            contract.input = schema(c, "input")
            contract.output = schema(c, "output")
            contract.maxLatency = c.duration("maxLatency", positive: true)
            contract.maxCost = c.double("maxCost", min: 0)
            a.contract = contract
        }
        if let l = r.child("limits", known: ["timeout", "tokenBudget", "maxConcurrent"]) {
            a.limits.timeout = l.duration("timeout", positive: true)
            a.limits.tokenBudget = l.int("tokenBudget", min: 1)
            a.limits.maxConcurrent = l.int("maxConcurrent", min: 1)
        }
        if let m = r.child("memory", known: ["persistent"]), let v = m.bool("persistent") { a.persistentMemory = v }
        if let v = r.int("replicas", min: 0) { a.replicas = v }
        if let rs = r.child("restart", known: ["policy", "maxRestarts"]) {
            if let v = rs.choice("policy", NodeConfig.RestartPolicy.self, noun: "restart policy") { a.restart.policy = v }
            if let v = rs.int("maxRestarts", min: 0) { a.restart.maxRestarts = v }
        }
        if let x = r.child("exec", known: ["maxInFlightRequests"]) {
            a.execMaxInFlightRequests = x.int("maxInFlightRequests", min: 1)
            if a.handler != "exec", !a.handler.isEmpty, let xe = r.entry("exec") {
                r.fail(xe, "'exec' settings are only used by the exec handler", hint: "remove them or set 'handler: exec'")
            }
        }
        if let ce = r.entry("config"), let v = r.json(ce) { a.config = v }
        if let v = r.stringList("capabilities") { a.capabilities = v }
        return a
    }

    /// A JSON-schema object: must be a mapping; `type`, when given, must name JSON types. The
    /// kernel compiles the full schema; this catches the common slips early, with a line number.
    func schema(_ r: ConfigFieldReader, _ key: String) -> JSONValue? {
        guard let e = r.entry(key) else { return nil }
        guard e.value.entries != nil else {
            r.fail(e, "expected a JSON schema object, got \(e.value.kindDescription)", hint: "e.g. {type: object, properties: {...}}")
            return nil
        }
        guard let v = r.json(e) else { return nil }
        checkSchemaTypes(e.value, path: r.sub(key))
        return v
    }

    static let jsonTypes = ["string", "number", "integer", "boolean", "object", "array", "null"]

    func checkSchemaTypes(_ node: YAMLNode, path: String) {
        guard let entries = node.entries else { return }
        for e in entries {
            let p = ConfigPath.join(path, e.key)
            switch e.key {
            case "type":
                let items = e.value.sequence ?? [e.value]
                for item in items {
                    guard let s = item.scalar?.value, Self.jsonTypes.contains(s) else {
                        let got = item.scalar?.value ?? item.kindDescription
                        sink.add(item.mark, p, "unknown JSON type '\(got)'", hint: ConfigSuggest.hint(got, in: Self.jsonTypes))
                        continue
                    }
                }
            case "properties":
                for prop in e.value.entries ?? [] { checkSchemaTypes(prop.value, path: ConfigPath.join(p, prop.key)) }
            case "items", "additionalProperties":
                checkSchemaTypes(e.value, path: p)
            default:
                break
            }
        }
    }

    func decodeChannel(_ e: YAMLEntry, parent: ConfigFieldReader) -> NodeConfig.Channel? {
        guard checkName(e, in: parent, noun: "channel") else { return nil }
        if e.key.hasPrefix("__") {
            parent.fail(e, "channel names starting with '__' are reserved")
            return nil
        }
        guard let r = ConfigFieldReader(e.value, path: parent.sub(e.key), sink: sink,
                                  known: ["type", "historyLimit", "maxDeliveryAttempts", "schema"], baseDirectory: baseDirectory)
        else { return nil }
        var c = NodeConfig.Channel(name: e.key)
        if let v = r.choice("type", NodeConfig.ChannelType.self, noun: "channel type") { c.type = v }
        if let v = r.int("historyLimit", min: 0) { c.historyLimit = v }
        if let v = r.int("maxDeliveryAttempts", min: 1) { c.maxDeliveryAttempts = v }
        c.schema = schema(r, "schema")
        return c
    }

    func decodeNode(_ r: ConfigFieldReader) -> NodeConfig.Node {
        var n = NodeConfig.Node()
        n.id = r.nonEmptyString("id")
        if let v = r.nonEmptyString("listen"), let e = r.entry("listen") {
            if let problem = ConfigHostPort.problem(v) {
                r.fail(e, "'\(v)' is not a host:port address: \(problem)", hint: "e.g. 127.0.0.1:7070 or [::1]:7070")
            } else {
                n.listen = v
            }
        }
        if let v = r.bool("allowRemote") { n.allowRemote = v }
        if let v = r.filePath("data") { n.data = v }
        n.token = r.nonEmptyString("token")
        if let v = r.choice("logLevel", NodeConfig.LogLevel.self, noun: "log level") { n.logLevel = v }
        if let v = r.duration("shutdownGrace") { n.shutdownGrace = v }
        return n
    }

    func decodeCluster(_ r: ConfigFieldReader) -> NodeConfig.Cluster {
        var c = NodeConfig.Cluster()
        if let v = r.nonEmptyString("name") {
            if v.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                c.name = v
            } else if let e = r.entry("name") {
                r.fail(e, "'\(v)' is not a valid cluster name", hint: "letters, digits, '_' and '-' (it becomes part of NATS subjects)")
            }
        }
        if let urls = r.stringList("nats"), let e = r.entries.first(where: { $0.key == "nats" }) {
            if urls.isEmpty {
                r.fail(e, "needs at least one NATS server URL", hint: "e.g. [nats://127.0.0.1:4222]")
            }
            let items = e.value.sequence ?? []
            for (i, url) in urls.enumerated() {
                if let problem = ConfigNATSURL.problem(url) {
                    let mark = items.indices.contains(i) ? items[i].mark : e.keyMark
                    sink.add(mark, "\(r.sub("nats"))[\(i)]", "'\(url)' is not a NATS URL: \(problem)", hint: "e.g. nats://127.0.0.1:4222")
                }
            }
            if !urls.isEmpty { c.nats = urls }
        }
        c.user = r.nonEmptyString("user")
        c.password = r.nonEmptyString("password")
        c.token = r.nonEmptyString("token")
        c.credentials = r.filePath("credentials")
        if let g = r.child("gossip", known: ["interval", "fanout", "suspicionMin", "suspicionMax", "localHealthMax", "removeAfter"]) {
            c.gossip.interval = g.duration("interval", positive: true)
            c.gossip.fanout = g.int("fanout", min: 1)
            c.gossip.suspicionMin = g.duration("suspicionMin", positive: true)
            c.gossip.suspicionMax = g.duration("suspicionMax", positive: true)
            c.gossip.localHealthMax = g.int("localHealthMax", min: 1)
            c.gossip.removeAfter = g.duration("removeAfter", positive: true)
            if let lo = c.gossip.suspicionMin, let hi = c.gossip.suspicionMax, lo > hi, let e = g.entry("suspicionMin") {
                g.fail(e, "suspicionMin (\(ConfigDuration.format(lo))) is longer than suspicionMax (\(ConfigDuration.format(hi)))")
            }
        }
        return c
    }
}

/// `host:port` checks for `node.listen`.
enum ConfigHostPort {
    /// Why `text` is not `host:port`, or nil when it is.
    static func problem(_ text: String) -> String? {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return "unclosed '['" }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return "missing ':port'" }
            port = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return "missing ':port'" }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            if host.contains(":") { return "write IPv6 addresses in brackets" }
        }
        if host.isEmpty { return "missing host" }
        guard let p = Int(port), (0...65535).contains(p) else { return "port must be a number from 0 to 65535" }
        return nil
    }
}

/// NATS server URL checks for `cluster.nats`.
enum ConfigNATSURL {
    static let schemes = ["nats", "tls", "ws", "wss"]

    static func problem(_ text: String) -> String? {
        guard let r = text.range(of: "://") else { return "missing scheme (nats://)" }
        let scheme = String(text[..<r.lowerBound])
        guard schemes.contains(scheme) else { return "scheme must be one of \(schemes.joined(separator: ", "))" }
        var rest = text[r.upperBound...]
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if rest.isEmpty { return "missing host" }
        if rest.contains(":") { return ConfigHostPort.problem(String(rest)) }
        return nil
    }
}
