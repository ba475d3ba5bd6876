import AgentVMTestKit
import Foundation
import NodeAgent
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `agentvm-node` binary: started in a temp dir, driven through its CLI and HTTP,
/// stopped with SIGTERM and SIGKILL, restarted on the same data. Serialized: each test runs a
/// whole node, and the machine is small.
@Suite(.serialized) struct EndToEndTests {
    static let config = """
        name: e2e
        memory:
          backend: sqlite
        agents:
          echo:
            description: Echoes its input
            handler: echo
          counter:
            handler: counter
            memory:
              persistent: true
        channels:
          updates:
            type: pubsub

        """

    /// Spawn, exec, send, memory and ps through the CLI; SIGTERM exits 0; a restart on the same
    /// data brings back the same processes, states, memory and mailbox.
    @Test func cliDrivesANodeAndAGracefulRestartKeepsEverything() async throws {
        let node = try NodeUnderTest(config: Self.config)
        defer { node.kill() }
        try await node.start()

        let echoes = try await node.cli(["spawn", "echo", "--count", "2"])
        #expect(echoes.code == 0, "\(echoes)")
        #expect(echoes.lines.count == 2)
        let counter = try await node.cli(["spawn", "counter"])
        #expect(counter.code == 0, "\(counter)")
        let echo = try #require(echoes.lines.first)
        let count = try #require(counter.lines.first)

        let out = try await node.cli(["exec", echo, "--task", "default", "--input", #"{"hello": ["world", 1]}"#])
        #expect(out.code == 0, "\(out)")
        #expect(try out.json() == ["hello": ["world", 1]])
        let full = try await node.cli(["exec", count, "--task", "count", "--input", #"{"by": 5}"#, "--json"])
        #expect(try full.json()["output"] == ["count": 5], "\(full)")
        #expect(try full.json()["processId"] == .string(count))

        let sent = try await node.cli(["send", count, #"{"tick": 1}"#])
        #expect(sent.code == 0, "\(sent)")
        #expect(!sent.stdout.isEmpty)
        // The counter counts messages too; delivery is asynchronous.
        let counted = try await waitUntil(deadline: .seconds(20)) {
            try await node.cli(["memory", "get", "count", "--ns", count]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "6"
        }
        #expect(counted)

        let set = try await node.cli(["memory", "set", "greeting", #"{"text": "hi"}"#, "--shared"])
        #expect(set.code == 0, "\(set)")
        let got = try await node.cli(["memory", "get", "greeting"])
        #expect(try got.json() == ["text": "hi"])

        // A paused process keeps a message pending in its mailbox.
        let paused = try await node.cli(["pause", echo])
        #expect(paused.stdout == "\(echo) paused\n", "\(paused)")
        let pending = try await node.cli(["send", echo, #""kept""#])
        #expect(pending.code == 0, "\(pending)")

        let ps = try await node.cli(["ps", "--json"])
        #expect(ps.code == 0, "\(ps)")
        let before = try Self.summary(ps.json())
        #expect(before.count == 3)
        #expect(before[echo]?.state == "paused")
        #expect(before[echo]?.mailbox == 1)
        for p in try ps.json().arrayValue ?? [] {
            for field in ["id", "agent", "state", "node"] { #expect(p[field]?.stringValue != nil, "\(field) in \(p)") }
        }
        let table = try await node.cli(["ps"])
        #expect(table.lines.first?.hasPrefix("ID") == true)
        #expect(table.lines.count == 4)

        #expect(await node.terminate() == 0)
        #expect(!FileManager.default.fileExists(atPath: node.data.appendingPathComponent("node.json").path))

        try await node.start()
        let after = try Self.summary(try await node.cli(["ps", "--json"]).json())
        #expect(after == before)
        #expect(try await node.cli(["memory", "get", "greeting"]).json() == ["text": "hi"])
        #expect(try await node.cli(["memory", "get", "count", "--ns", count]).json() == 6)
        // The message is still there: resuming delivers it.
        #expect(try await node.cli(["resume", echo]).code == 0)
        let drained = try await waitUntil(deadline: .seconds(20)) {
            try Self.summary(try await node.cli(["ps", "--json"]).json())[echo]?.mailbox == 0
        }
        #expect(drained)
        #expect(await node.terminate() == 0)
    }

    /// SIGKILL right after acknowledged writes: memory, a spawn, a message into a paused
    /// process's mailbox. All are there after a restart.
    @Test func sigkillLosesNothingAcknowledged() async throws {
        let node = try NodeUnderTest(config: Self.config)
        defer { node.kill() }
        try await node.start()
        let client = try node.client()
        let spawned = try await node.cli(["spawn", "echo"])
        let pid = try #require(spawned.lines.first, "\(spawned)")
        #expect(try await node.cli(["pause", pid]).code == 0)
        #expect(try await node.cli(["memory", "set", "k", "42"]).code == 0)
        _ = try await client.post("/v1/processes/\(pid)/messages", ["payload": "pending"])
        let late = try await node.cli(["spawn", "counter"])
        let counter = try #require(late.lines.first, "\(late)")
        node.kill()

        try await node.start()
        let processes = try Self.summary(try await node.cli(["ps", "--json"]).json())
        #expect(processes[pid]?.state == "paused")
        #expect(processes[pid]?.mailbox == 1)
        #expect(processes[counter] != nil)
        #expect(try await node.cli(["memory", "get", "k"]).json() == 42)
        #expect(await node.terminate() == 0)
    }

    /// A malformed config: `validate` and `start` exit non-zero naming file:line:col; no node runs.
    @Test func malformedConfigIsRefusedWithPositions() async throws {
        let node = try NodeUnderTest(config: "name: bad\nmaxProcesses: 0\nagents:\n  a:\n    handler: ecko\n")
        defer { node.kill() }
        let validate = try await node.cli(["validate", node.config.path], api: false)
        #expect(validate.code == 1, "\(validate)")
        #expect(validate.stderr.contains("\(node.config.path):2:1: maxProcesses"), "\(validate)")
        #expect(validate.stderr.contains("\(node.config.path):5:5: agents.a.handler"), "\(validate)")

        let start = try await node.cli(["start", "--config", node.config.path, "--data", node.data.path, "--listen", "127.0.0.1:0"], api: false)
        #expect(start.code != 0, "\(start)")
        #expect(start.stderr.contains("agentvm.yml:5:5"), "\(start)")
        #expect(!FileManager.default.fileExists(atPath: node.data.appendingPathComponent("node.json").path))

        let syntax = try await node.cli(["validate", "--", "/nonexistent/agentvm.yml"], api: false)
        #expect(syntax.code == 1)
        #expect(syntax.stderr.contains("/nonexistent/agentvm.yml:1:1"))
    }

    /// Malformed requests get 4xx with the error shape; the node stays up.
    @Test func malformedRequestsGetErrorsAndTheNodeSurvives() async throws {
        let node = try NodeUnderTest(config: Self.config)
        defer { node.kill() }
        try await node.start()
        let port = node.port
        let json = ["Content-Type": "application/json"]

        let badJSON = try await rawRequest(port: port, method: "POST", path: "/v1/processes", headers: json, body: Data("{nope".utf8))
        #expect(badJSON.status == 400)
        #expect(badJSON.errorCode == "invalid_json")
        let missing = try await rawRequest(port: port, method: "POST", path: "/v1/processes", headers: json, body: Data("{}".utf8))
        #expect(missing.status == 400)
        #expect(((missing.json?["error"] as? [String: Any])?["field"] as? String) == "agent")
        let wrongType = try await rawRequest(port: port, method: "POST", path: "/v1/processes", headers: json, body: Data(#"{"agent": 5}"#.utf8))
        #expect(wrongType.status == 400)
        let unknownAgent = try await rawRequest(port: port, method: "POST", path: "/v1/processes", headers: json, body: Data(#"{"agent": "nope"}"#.utf8))
        #expect(unknownAgent.status == 404)
        #expect(unknownAgent.errorCode == "agent_not_found")
        let route = try await rawRequest(port: port, method: "GET", path: "/v1/nothing")
        #expect(route.status == 404)
        let method = try await rawRequest(port: port, method: "PATCH", path: "/v1/processes")
        #expect(method.status == 405)
        let big = try await rawRequest(port: port, method: "POST", path: "/v1/processes", headers: json,
                                       body: Data(repeating: 0x20, count: 2 << 20))
        #expect(big.status == 413)
        for r in [badJSON, missing, wrongType, unknownAgent, route, method, big] {
            let error = r.json?["error"] as? [String: Any]
            #expect(error?["code"] is String && error?["message"] is String, "\(r.text)")
        }
        // Bytes that are not HTTP at all.
        let garbage = try await offPool { () throws -> Int in
            let conn = try RawHTTPConnection(port: port)
            defer { conn.closeNow() }
            try conn.send(Data([0x00, 0xFF, 0x13, 0x37] + Array("\r\n\r\nGET / HTTP/9\r\n\r\n".utf8)))
            return (try? conn.receive().count) ?? 0
        }
        _ = garbage
        // The CLI reports an API error with exit 1 and the code.
        let kill = try await node.cli(["kill", "no-such-process"])
        #expect(kill.code == 1)
        #expect(kill.stderr.contains("process_not_found"), "\(kill)")

        #expect(try await node.client().get("/healthz")["status"] == "ok")
        #expect(node.child?.isRunning == true)
        #expect(await node.terminate() == 0)
    }

    /// `--token`: the CLI without it gets unauthorized (exit 1); with it, works. `logs --follow`
    /// streams events as they happen.
    @Test func tokenAndFollowingLogs() async throws {
        let node = try NodeUnderTest(config: Self.config, extraArgs: ["--token", "s3cret"])
        defer { node.kill() }
        try await node.start()
        let denied = try await node.cli(["ps"])
        #expect(denied.code == 1)
        #expect(denied.stderr.contains("unauthorized"), "\(denied)")
        let allowed = try await node.cli(["ps", "--json"], environment: ["AGENTVM_TOKEN": "s3cret"])
        #expect(allowed.code == 0, "\(allowed)")

        let follower = try node.cliChild(["logs", "--follow", "--json", "--type", "process.", "--token", "s3cret"])
        defer { follower.kill9() }
        var spawned: [String] = []
        let seen = try await waitUntil(deadline: .seconds(30), poll: .milliseconds(100)) {
            let run = try await node.cli(["spawn", "echo", "--token", "s3cret"])
            spawned += run.lines
            return spawned.contains { id in follower.stdoutText().contains(id) }
        }
        #expect(seen, "follower stdout: \(follower.stdoutText()) stderr: \(follower.stderrText())")
        for line in follower.stdoutText().split(separator: "\n") {
            let event = try JSONValue.parse(String(line))
            #expect(event["type"]?.stringValue?.hasPrefix("process.") == true)
        }
        #expect(await node.terminate() == 0)
        // The node closing the stream ends the follower with an error.
        #expect(await waitUntil(deadline: .seconds(30)) { !follower.isRunning })
        #expect(follower.termination == .exited(1), "\(follower.stderrText())")
        #expect(follower.stderrText().contains("closed the event stream"))
    }

    /// `init` writes a config that starts as is; its commented exec agent (agents/echo.py, written
    /// beside it) works once uncommented.
    @Test func initThenStartRunsTheExampleAgents() async throws {
        let node = try NodeUnderTest(config: "")
        defer { node.kill() }
        let initRun = try await node.cli(["init", node.dir.path, "--force"], api: false)
        #expect(initRun.code == 0, "\(initRun)")
        let text = try String(contentsOf: node.config, encoding: .utf8)
            .replacingOccurrences(of: "  # worker:", with: "  worker:")
            .replacingOccurrences(of: "  #   handler: exec", with: "    handler: exec")
            .replacingOccurrences(of: "  #   command:", with: "    command:")
        try Data(text.utf8).write(to: node.config)
        let validate = try await node.cli(["validate", node.config.path], api: false)
        #expect(validate.stdout == "ok\n", "\(validate)")
        try await node.start()

        let ps = try await node.cli(["ps", "--json"])
        let greeter = try #require(try ps.json().arrayValue?.first { $0["agent"] == "greeter" }?["id"]?.stringValue, "\(ps)")
        #expect(try await node.cli(["exec", greeter, "--task", "default", "--input", #"{"a": 1}"#]).json() == ["a": 1])

        let worker = try #require(try await node.cli(["spawn", "worker"]).lines.first)
        let answer = try await node.cli(["exec", worker, "--task", "default", "--input", #"{"from": "python"}"#])
        #expect(answer.code == 0, "\(answer)")
        #expect(try answer.json() == ["from": "python"])
        #expect(await node.terminate() == 0)
    }

    /// The remaining client commands against a real node: agents, publish, logs, checkpoint,
    /// restore, stats, members, memory ls/incr/del.
    @Test func everyOtherCommand() async throws {
        let node = try NodeUnderTest(config: Self.config)
        defer { node.kill() }
        try await node.start()
        let agents = try await node.cli(["agents", "--json"])
        #expect(Set(try agents.json().arrayValue?.compactMap { $0["name"]?.stringValue } ?? []) == ["echo", "counter"], "\(agents)")
        #expect(try await node.cli(["agents"]).lines.first?.hasPrefix("NAME") == true)

        let pid = try #require(try await node.cli(["spawn", "echo"]).lines.first)
        #expect(try await node.cli(["exec", pid, "--task", "t", "--input", "1"]).stdout == "1\n")
        let published = try await node.cli(["publish", "updates", #"{"n": 1}"#])
        #expect(published.code == 0, "\(published)")
        let noChannel = try await node.cli(["publish", "nope", "1"])
        #expect(noChannel.code == 1)
        #expect(noChannel.stderr.contains("channel_not_found"))

        let logs = try await node.cli(["logs", pid, "--json"])
        #expect(logs.code == 0, "\(logs)")
        let events = try logs.lines.map { try JSONValue.parse($0) }
        #expect(!events.isEmpty)
        #expect(events.allSatisfy { $0["source"]?.stringValue == pid || $0["data"]?["process"]?.stringValue == pid })

        let file = node.dir.file("cp.json").path
        let checkpoint = try await node.cli(["checkpoint", pid, "--out", file])
        #expect(checkpoint.code == 0, "\(checkpoint)")
        #expect(try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: file))).objectValue != nil)
        #expect(try await node.cli(["kill", pid]).stdout == "\(pid) terminated\n")
        let restored = try await node.cli(["restore", file, "--json"])
        #expect(restored.code == 0, "\(restored)")
        #expect(try restored.json()["id"] == .string(pid))
        #expect(try restored.json()["state"] == "paused")

        #expect(try await node.cli(["memory", "incr", "n", "--by", "2.5"]).stdout == "2.5\n")
        #expect(try await node.cli(["memory", "incr", "n", "--by", "-1", "--shared"]).stdout == "1.5\n")
        let ls = try await node.cli(["memory", "ls", "--json"])
        #expect(try ls.json().arrayValue?.map { $0["key"] } == ["n"], "\(ls)")
        #expect(try await node.cli(["memory", "del", "n"]).stdout == "deleted\n")
        #expect(try await node.cli(["memory", "del", "n"]).stdout == "not found\n")
        let gone = try await node.cli(["memory", "get", "n"])
        #expect(gone.code == 1)
        #expect(gone.stderr.contains("key_not_found"))

        let stats = try await node.cli(["stats", "--json"])
        #expect(try stats.json()["processes"] != nil, "\(stats)")
        #expect(try await node.cli(["stats"]).lines.contains { $0.hasPrefix("processes ") })
        let members = try await node.cli(["members", "--json"])
        #expect(try members.json().arrayValue?.count == 1, "\(members)")
        #expect(await node.terminate() == 0)
    }

    struct Summary: Equatable { var agent: String?; var state: String?; var mailbox: Int? }

    static func summary(_ ps: JSONValue) throws -> [String: Summary] {
        var out: [String: Summary] = [:]
        for p in ps.arrayValue ?? [] {
            guard let id = p["id"]?.stringValue else { continue }
            out[id] = Summary(agent: p["agent"]?.stringValue, state: p["state"]?.stringValue, mailbox: p["mailboxDepth"]?.intValue)
        }
        return out
    }
}
