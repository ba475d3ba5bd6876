import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

@Suite struct ConfigLoadTests {
    static let full = """
    name: prod
    debug: true
    maxProcesses: 500
    memory:
      backend: sqlite
      path: mem.db
    env:
      MODEL: small
    agents:
      writer:
        description: Writes things
        handler: echo
        tools: [http_fetch]
        permissions:
          level: execute
          sideEffects: [network, writes-memory]
        contract:
          input: {type: object, properties: {text: {type: string}}, required: [text]}
          output: {type: [string, "null"]}
          maxLatency: 500ms
          maxCost: 0.25
        limits:
          timeout: 2s
          tokenBudget: 10000
          maxConcurrent: 2
        memory:
          persistent: true
        replicas: 2
        restart:
          policy: always
          maxRestarts: 5
        config:
          model: ${MODEL}
          depth: 3
        capabilities: [write]
      runner:
        handler: exec
        command: [python3, agents/echo.py, --fast]
    tools: [http_fetch]
    channels:
      updates:
        type: queue
        historyLimit: 10
        maxDeliveryAttempts: 5
        schema: {type: object}
    node:
      id: node-a
      listen: 0.0.0.0:8080
      data: state
      token: secret
      logLevel: debug
      shutdownGrace: 1m
    cluster:
      name: blue
      nats: [nats://127.0.0.1:4222, nats://127.0.0.1:4223]
      gossip:
        interval: 200ms
        fanout: 3
        suspicionMin: 1s
        suspicionMax: 5s
        localHealthMax: 8
        removeAfter: 1h
    """

    @Test func readsEveryFieldOfAFullConfig() throws {
        let c = try NodeConfig.parse(Self.full, file: "agentvm.yml", baseDirectory: "/srv/app")
        #expect(c.name == "prod")
        #expect(c.debug)
        #expect(c.maxProcesses == 500)
        #expect(c.memory.backend == .sqlite)
        #expect(c.memory.path == "/srv/app/mem.db")
        #expect(c.env == ["MODEL": "small"])
        #expect(c.agents.map(\.name) == ["writer", "runner"])
        let w = try #require(c.agent(named: "writer"))
        #expect(w.description == "Writes things")
        #expect(w.handler == "echo")
        #expect(w.tools == ["http_fetch"])
        #expect(w.permissions.level == .execute)
        #expect(w.permissions.sideEffects == [.network, .writesMemory])
        #expect(w.contract?.input == ["type": "object", "properties": ["text": ["type": "string"]], "required": ["text"]])
        #expect(w.contract?.output == ["type": ["string", "null"]])
        #expect(w.contract?.maxLatency == .milliseconds(500))
        #expect(w.contract?.maxCost == 0.25)
        #expect(w.limits.timeout == .seconds(2))
        #expect(w.limits.tokenBudget == 10000)
        #expect(w.limits.maxConcurrent == 2)
        #expect(w.persistentMemory)
        #expect(w.replicas == 2)
        #expect(w.restart.policy == .always)
        #expect(w.restart.maxRestarts == 5)
        #expect(w.config == ["model": "small", "depth": 3])
        #expect(w.capabilities == ["write"])
        let r = try #require(c.agent(named: "runner"))
        #expect(r.command == ["python3", "agents/echo.py", "--fast"])
        #expect(r.tools == nil)
        #expect(r.permissions.level == .read)
        #expect(r.restart.policy == .onFailure)
        #expect(c.tools == ["http_fetch"])
        let ch = try #require(c.channel(named: "updates"))
        #expect(ch.type == .queue && ch.historyLimit == 10 && ch.maxDeliveryAttempts == 5 && ch.schema == ["type": "object"])
        #expect(c.node.id == "node-a")
        #expect(c.node.listen == "0.0.0.0:8080")
        #expect(c.node.data == "/srv/app/state")
        #expect(c.node.token == "secret")
        #expect(c.node.logLevel == .debug)
        #expect(c.node.shutdownGrace == .seconds(60))
        let cl = try #require(c.cluster)
        #expect(cl.name == "blue")
        #expect(cl.nats == ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"])
        #expect(cl.gossip.interval == .milliseconds(200))
        #expect(cl.gossip.fanout == 3)
        #expect(cl.gossip.suspicionMin == .seconds(1))
        #expect(cl.gossip.suspicionMax == .seconds(5))
        #expect(cl.gossip.localHealthMax == 8)
        #expect(cl.gossip.removeAfter == .seconds(3600))
        #expect(c.baseDirectory == "/srv/app")
    }

    @Test func emptyFileGivesDefaults() throws {
        let c = try NodeConfig.parse("")
        #expect(c == { var d = NodeConfig(); d.file = "agentvm.yml"; return d }())
        #expect(c.memory.backend == .sqlite)
        #expect(c.node.listen == "127.0.0.1:7070")
        #expect(c.node.data == ".agentvm")
        #expect(c.cluster == nil)
    }

    func issues(_ text: String, environment: [String: String] = [:], knownTools: [String]? = nil) -> [String] {
        do {
            _ = try NodeConfig.parse(text, file: "agentvm.yml", environment: environment, knownTools: knownTools)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func unknownHandlerNamesTheFieldWithADidYouMean() {
        let text = """
        name: demo
        agents:
          writer:
            handler: ecko
        """
        #expect(issues(text) == ["agentvm.yml:4:5: agents.writer.handler: unknown handler 'ecko' (hint: did you mean 'echo'?)"])
    }

    @Test func unknownKeysAreErrorsWithSuggestions() {
        let text = """
        nmae: demo
        agents:
          a:
            handler: echo
            limts: {timeout: 1s}
        node:
          listne: 127.0.0.1:1
        """
        #expect(issues(text) == [
            "agentvm.yml:1:1: nmae: unknown key 'nmae' (hint: did you mean 'name'?)",
            "agentvm.yml:5:5: agents.a.limts: unknown key 'limts' (hint: did you mean 'limits'?)",
            "agentvm.yml:7:3: node.listne: unknown key 'listne' (hint: did you mean 'listen'?)",
        ])
    }

    @Test func typeAndRangeErrors() {
        let text = """
        maxProcesses: many
        memory:
          backend: redis
        agents:
          a:
            handler: counter
            replicas: -1
            limits:
              timeout: soon
              tokenBudget: 0
            permissions:
              level: root
              sideEffects: [network, telepathy]
            restart:
              policy: sometimes
        channels:
          c:
            type: broadcast
            historyLimit: [1]
        node:
          listen: localhost
          shutdownGrace: 2 days
        """
        #expect(issues(text) == [
            "agentvm.yml:1:1: maxProcesses: expected an integer, got 'many'",
            "agentvm.yml:3:3: memory.backend: unknown memory backend 'redis' (hint: expected one of: memory, sqlite)",
            "agentvm.yml:7:5: agents.a.replicas: must be at least 0, got -1",
            "agentvm.yml:9:7: agents.a.limits.timeout: 'soon' is not a duration (hint: write e.g. \"250ms\", \"2s\", \"1m\" or a number of milliseconds)",
            "agentvm.yml:10:7: agents.a.limits.tokenBudget: must be a positive integer, got 0",
            "agentvm.yml:12:7: agents.a.permissions.level: unknown permission level 'root' (hint: expected one of: none, read, write, execute, admin)",
            "agentvm.yml:13:30: agents.a.permissions.sideEffects[1]: unknown side effect 'telepathy' (hint: expected one of: none, read-only, writes-memory, filesystem, network, process)",
            "agentvm.yml:15:7: agents.a.restart.policy: unknown restart policy 'sometimes' (hint: expected one of: never, on-failure, always)",
            "agentvm.yml:18:5: channels.c.type: unknown channel type 'broadcast' (hint: expected one of: pubsub, direct, queue)",
            "agentvm.yml:19:5: channels.c.historyLimit: expected an integer, got a list",
            "agentvm.yml:21:3: node.listen: 'localhost' is not a host:port address: missing ':port' (hint: e.g. 127.0.0.1:7070 or [::1]:7070)",
            "agentvm.yml:22:3: node.shutdownGrace: '2 days' is not a duration (hint: write e.g. \"250ms\", \"2s\", \"1m\" or a number of milliseconds)",
        ])
    }

    @Test func agentRules() {
        let text = """
        agents:
          nohandler:
            description: x
          runner:
            handler: exec
          talker:
            handler: echo
            command: [ls]
          "bad name":
            handler: echo
          schema:
            handler: echo
            contract:
              input: {type: strng}
              output: text
        """
        #expect(issues(text) == [
            "agentvm.yml:2:3: agents.nohandler.handler: missing required field 'handler' (hint: one of: echo, counter, exec)",
            "agentvm.yml:4:3: agents.runner.command: missing required field 'command' for the exec handler (hint: an argv list, e.g. [python3, agents/echo.py])",
            "agentvm.yml:8:5: agents.talker.command: 'command' is only used by the exec handler (hint: remove it or set 'handler: exec')",
            "agentvm.yml:9:3: agents.bad name: 'bad name' is not a valid agent name (hint: use letters, digits, '_', '-' and '.', starting with a letter or digit)",
            "agentvm.yml:14:21: agents.schema.contract.input.type: unknown JSON type 'strng' (hint: did you mean 'string'?)",
            "agentvm.yml:15:7: agents.schema.contract.output: expected a JSON schema object, got a string (hint: e.g. {type: object, properties: {...}})",
        ])
    }

    @Test func clusterRules() {
        let text = """
        cluster:
          name: my cluster
          nats: [http://x:4222, "nats://h:99999"]
          gossip:
            fanout: 0
            suspicionMin: 5s
            suspicionMax: 1s
            probe: 1s
        """
        #expect(issues(text) == [
            "agentvm.yml:2:3: cluster.name: 'my cluster' is not a valid cluster name (hint: letters, digits, '_' and '-' (it becomes part of NATS subjects))",
            "agentvm.yml:3:10: cluster.nats[0]: 'http://x:4222' is not a NATS URL: scheme must be one of nats, tls, ws, wss (hint: e.g. nats://127.0.0.1:4222)",
            "agentvm.yml:3:25: cluster.nats[1]: 'nats://h:99999' is not a NATS URL: port must be a number from 0 to 65535 (hint: e.g. nats://127.0.0.1:4222)",
            "agentvm.yml:5:5: cluster.gossip.fanout: must be a positive integer, got 0",
            "agentvm.yml:6:5: cluster.gossip.suspicionMin: suspicionMin (5s) is longer than suspicionMax (1s)",
            "agentvm.yml:8:5: cluster.gossip.probe: unknown key 'probe' (hint: expected one of: interval, fanout, suspicionMin, suspicionMax, localHealthMax, removeAfter)",
        ])
    }

    @Test func knownToolsAreChecked() {
        let text = """
        tools: [http_fetch, file_raed]
        agents:
          a:
            handler: echo
            tools: [shel]
        """
        #expect(issues(text, knownTools: ["http_fetch", "file_read", "shell"]) == [
            "agentvm.yml:1:21: tools[1]: unknown tool 'file_raed' (hint: did you mean 'file_read'?)",
            "agentvm.yml:5:13: agents.a.tools[0]: unknown tool 'shel' (hint: did you mean 'shell'?)",
        ])
    }

    @Test func syntaxErrorIsOneIssueAtItsPosition() {
        let found = issues("agents:\n  a: {handler: echo\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("agentvm.yml:3:1: ") == true)
    }

    @Test func duplicateKeyIsAnIssue() {
        #expect(issues("name: a\nname: b\n") == ["agentvm.yml:2:1: duplicate key 'name' (first at 1:1)"])
    }

    @Test func substitutesFromEnvironmentAndEnvSection() throws {
        let text = """
        env:
          MODEL: ${MODEL_FROM_HOST:-tiny}
          PORT: "7000"
        name: ${NAME}
        maxProcesses: ${MAX}
        node:
          listen: 127.0.0.1:${PORT}
          token: ${TOKEN:-}
        agents:
          a:
            handler: echo
            description: "costs $${PRICE} in ${MODEL}"
            config: {n: "${MAX}"}
        """
        let c = try NodeConfig.parse(text, environment: ["NAME": "svc", "MAX": "42", "PORT": "7001"])
        #expect(c.name == "svc")
        #expect(c.maxProcesses == 42)
        #expect(c.node.listen == "127.0.0.1:7001")
        #expect(c.node.token == nil)
        #expect(c.env == ["MODEL": "tiny", "PORT": "7000"])
        #expect(c.agents.first?.description == "costs ${PRICE} in tiny")
        #expect(c.agents.first?.config == ["n": "42"])
    }

    @Test func unsetVariableIsAnErrorNamingIt() {
        let text = """
        name: ${APP_NAME}
        node:
          token: "${SECRET"
        """
        #expect(issues(text) == [
            "agentvm.yml:1:7: name: environment variable 'APP_NAME' is not set (hint: set it, add it under 'env:', or give a default: ${APP_NAME:-value})",
            "agentvm.yml:3:10: node.token: unterminated '${' in '${SECRET' (hint: write '$${' for a literal '${')",
        ])
    }

    @Test func environmentOverridesWinAndNameTheVariableWhenBad() throws {
        let text = """
        maxProcesses: 10
        node:
          listen: 127.0.0.1:7070
          data: state
        """
        let env = [
            "AGENTVM_MAX_PROCESSES": "20", "AGENTVM_NODE_LISTEN": "127.0.0.1:9000", "AGENTVM_DATA": "rel/dir",
            "AGENTVM_NODE_ID": "n1", "AGENTVM_TOKEN": "t", "AGENTVM_NATS": "nats://a:1, nats://b:2", "AGENTVM_CLUSTER": "green",
            "AGENTVM_GOSSIP_INTERVAL": "100ms",
        ]
        let c = try NodeConfig.parse(text, baseDirectory: "/base", environment: env)
        #expect(c.maxProcesses == 20)
        #expect(c.node.listen == "127.0.0.1:9000")
        #expect(c.node.data == "rel/dir")
        #expect(c.node.id == "n1")
        #expect(c.node.token == "t")
        #expect(c.cluster?.nats == ["nats://a:1", "nats://b:2"])
        #expect(c.cluster?.name == "green")
        #expect(c.cluster?.gossip.interval == .milliseconds(100))
        #expect(issues(text, environment: ["AGENTVM_MAX_PROCESSES": "lots"]) == [
            "AGENTVM_MAX_PROCESSES: maxProcesses: expected an integer, got 'lots'",
        ])
    }

    @Test func reportsEveryErrorAtOnceInSourceOrder() {
        let text = """
        name: ${UNSET_ONE}
        maxProcesses: 0
        agents:
          a:
            handler: ecko
          b:
            handler: exec
            command: []
        channels:
          c: {type: pubsub, historyLimt: 5}
        """
        let found = issues(text)
        #expect(found == [
            "agentvm.yml:1:7: name: environment variable 'UNSET_ONE' is not set (hint: set it, add it under 'env:', or give a default: ${UNSET_ONE:-value})",
            "agentvm.yml:2:1: maxProcesses: must be a positive integer, got 0",
            "agentvm.yml:5:5: agents.a.handler: unknown handler 'ecko' (hint: did you mean 'echo'?)",
            "agentvm.yml:8:5: agents.b.command: the exec handler needs a non-empty command (hint: an argv list, e.g. [python3, agents/echo.py])",
            "agentvm.yml:10:21: channels.c.historyLimt: unknown key 'historyLimt' (hint: did you mean 'historyLimit'?)",
        ])
    }

    @Test func errorsDescriptionIsOneIssuePerLine() {
        do {
            _ = try NodeConfig.parse("maxProcesses: 0\ndebug: maybe\n", file: "x.yml")
            Issue.record("expected errors")
        } catch {
            #expect(error.description == """
            x.yml:1:1: maxProcesses: must be a positive integer, got 0
            x.yml:2:1: debug: expected true or false, got 'maybe'
            """)
        }
    }

    @Test func loadReadsAFileAndResolvesPathsAgainstItsDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("agentvm.yml").path
        try "node:\n  data: state\nmemory:\n  path: m.db\n".write(toFile: file, atomically: true, encoding: .utf8)
        let c = try NodeConfig.load(path: file, environment: [:])
        #expect(c.node.data == dir.appendingPathComponent("state").standardizedFileURL.path)
        #expect(c.memory.path == dir.appendingPathComponent("m.db").standardizedFileURL.path)
        #expect(c.file == file)
        #expect(throws: ConfigErrors.self) { try NodeConfig.load(path: dir.appendingPathComponent("missing.yml").path, environment: [:]) }
    }

    @Test func exampleConfigValidatesCleanly() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("examples/agentvm.yml").path
        let c = try NodeConfig.load(path: path, environment: [:])
        #expect(c.agents.map(\.handler) == ["echo", "counter", "exec"])
        #expect(c.agent(named: "py-echo")?.command == ["python3", "agents/echo.py"])
        #expect(c.agent(named: "greeter")?.config == ["greeting": "hello"])
    }

    @Test func durations() {
        #expect(ConfigDuration.parse("250ms") == .milliseconds(250))
        #expect(ConfigDuration.parse("2s") == .seconds(2))
        #expect(ConfigDuration.parse("1m") == .seconds(60))
        #expect(ConfigDuration.parse("1m30s") == .seconds(90))
        #expect(ConfigDuration.parse("1.5s") == .milliseconds(1500))
        #expect(ConfigDuration.parse("1500") == .milliseconds(1500))
        #expect(ConfigDuration.parse("1h") == .seconds(3600))
        #expect(ConfigDuration.parse("soon") == nil)
        #expect(ConfigDuration.parse("-1s") == nil)
        #expect(ConfigDuration.parse("5x") == nil)
        for text in ["250ms", "2s", "1m30s", "1h", "2m"] {
            #expect(ConfigDuration.format(ConfigDuration.parse(text) ?? .zero) == text)
        }
    }
}

@Suite struct ConfigTemplateTests {
    @Test func initTemplateValidates() throws {
        let c = try NodeConfig.parse(ConfigTemplate.text, baseDirectory: "/tmp/x")
        #expect(c.agents.map(\.name) == ["greeter"])
        #expect(c.agent(named: "greeter")?.config == ["greeting": "hello"])
        #expect(c.channels.map(\.name) == ["updates"])
    }
}
