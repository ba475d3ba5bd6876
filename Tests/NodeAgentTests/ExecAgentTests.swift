import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

@Suite struct ExecAgentTests {
    private func pythonAgent(_ host: RecordingExecHost, id: String = "p1") -> ExecAgentProcess {
        let script = repositoryRoot().appendingPathComponent("examples/agents/echo.py").path
        return ExecAgentProcess(processID: id, agent: "echo", config: ["greeting": "hi"],
                                configuration: ExecConfiguration(argv: ["python3", script]), host: host)
    }

    @Test func pythonEchoAnswersTasksAndUsesMemory() async throws {
        let host = RecordingExecHost()
        let agent = pythonAgent(host)
        try await agent.start()
        defer { if agent.pid > 0 && agent.exitStatus == nil { kill(agent.pid, SIGKILL) } }
        let r1 = try await agent.runTask(id: "t1", task: "echo", input: ["text": "hello", "n": [1, 2]])
        #expect(r1.output == ["text": "hello", "n": [1, 2]])
        #expect(r1.tokens == 0)
        let r2 = try await agent.runTask(id: "t2", task: "echo", input: "again")
        #expect(r2.output == "again")
        // The memory.incr request round trip went through the host.
        #expect(host.memory["echo.tasks"] == 2)
        #expect(host.requests.first == .memoryIncr(key: "echo.tasks", by: 1, namespace: nil))
        #expect(host.logs.contains { $0.source == .program && $0.message.contains("task t2") })
        // A message comes back as an event.
        try agent.deliver(id: "m1", from: "p0", payload: ["x": 1])
        #expect(await eventually { host.eventTypes.contains("echo.message") })
        let exit = await agent.terminate()
        #expect(exit == ExecExit(status: .exited(0), requested: true))
        #expect(host.exits == [ExecExit(status: .exited(0), requested: true)])
        #expect(agent.malformedLineCount == 0)
    }

    @Test func shellEchoAnswersSimpleTasks() async throws {
        let host = RecordingExecHost()
        let script = repositoryRoot().appendingPathComponent("examples/agents/echo.sh").path
        let agent = ExecAgentProcess(processID: "p2", agent: "echo-sh", configuration: ExecConfiguration(argv: [script]), host: host)
        try await agent.start()
        defer { if agent.pid > 0 && agent.exitStatus == nil { kill(agent.pid, SIGKILL) } }
        let r = try await agent.runTask(id: "t1", task: "echo", input: ["a": "x,y", "b": [true, nil]])
        #expect(r.output == ["a": "x,y", "b": [true, nil]])
        let exit = await agent.terminate()
        #expect(exit?.isSuccess == true)
    }

    @Test func crashMidTaskFailsTheTaskAndReportsTheExit() async throws {
        let host = RecordingExecHost()
        // A program that says ready, then dies with code 3 when it gets a task.
        let program = """
        import sys, json
        for line in sys.stdin:
            m = json.loads(line)
            if m["type"] == "hello": print(json.dumps({"type": "ready"}), flush=True)
            if m["type"] == "task": sys.exit(3)
        """
        let agent = ExecAgentProcess(processID: "p3", agent: "crasher",
                                     configuration: ExecConfiguration(argv: ["python3", "-c", program]), host: host)
        try await agent.start()
        await #expect(throws: ExecError.processExited(ExecExit(status: .exited(3), requested: false))) {
            _ = try await agent.runTask(id: "t1", task: "boom", input: nil)
        }
        #expect(host.exits == [ExecExit(status: .exited(3), requested: false)])
        // Later tasks fail the same way, and the policy decides to restart once, then gives up.
        await #expect(throws: ExecError.self) { _ = try await agent.runTask(id: "t2", task: "x", input: nil) }
        let policy = RestartPolicy(mode: .onFailure, maxRestarts: 1)
        let exit = try #require(agent.exitStatus)
        #expect(policy.decide(after: exit, restartsSoFar: 0) == .restart(attempt: 1))
        if case .stop = policy.decide(after: exit, restartsSoFar: 1) {} else { Issue.record("expected stop") }
    }

    @Test func malformedOutputIsCountedNotFatal() async throws {
        let host = RecordingExecHost()
        let program = """
        import sys, json
        for line in sys.stdin:
            m = json.loads(line)
            if m["type"] == "hello":
                print("this is not json", flush=True)
                print(json.dumps([1, 2]), flush=True)
                print(json.dumps({"no": "type"}), flush=True)
                print(json.dumps({"type": "bogus"}), flush=True)
                print(json.dumps({"type": "memory.get", "id": "r1"}), flush=True)
                print("warning on stderr", file=sys.stderr, flush=True)
                print(json.dumps({"type": "ready"}), flush=True)
            if m["type"] == "reply":
                print(json.dumps({"type": "log", "message": "reply " + json.dumps(m, sort_keys=True)}), flush=True)
            if m["type"] == "task":
                print(json.dumps({"type": "result", "id": m["id"], "output": "ok"}), flush=True)
            if m["type"] == "shutdown": break
        """
        let agent = ExecAgentProcess(processID: "p4", agent: "messy",
                                     configuration: ExecConfiguration(argv: ["python3", "-c", program]), host: host)
        try await agent.start()
        defer { if agent.pid > 0 && agent.exitStatus == nil { kill(agent.pid, SIGKILL) } }
        let r = try await agent.runTask(id: "t1", task: "x", input: nil)
        #expect(r.output == "ok")
        #expect(agent.malformedLineCount == 5)
        // The bad request got an error reply naming the missing field.
        #expect(await eventually { host.logs.contains { $0.source == .program && $0.message.contains("memory.get: missing field 'key'") } })
        #expect(await eventually { host.logs.contains { $0.source == .stderr && $0.message == "warning on stderr" } })
        await agent.terminate()
    }

    @Test func shutdownEscalatesToKillForAProgramThatIgnoresIt() async throws {
        let host = RecordingExecHost()
        // Says ready, then ignores shutdown, stdin EOF and SIGTERM.
        var configuration = ExecConfiguration(argv: ["/bin/sh", "-c", "trap '' TERM; echo '{\"type\":\"ready\"}'; exec sleep 1000"])
        configuration.shutdownGrace = .milliseconds(200)
        configuration.terminateGrace = .milliseconds(200)
        let agent = ExecAgentProcess(processID: "p5", agent: "stubborn", configuration: configuration, host: host)
        try await agent.start()
        let pid = agent.pid
        defer { if isAlive(pid) { kill(pid, SIGKILL) } }
        let exit = await agent.terminate()
        #expect(exit == ExecExit(status: .signaled(SIGKILL), requested: true))
        #expect(await eventually { !isAlive(pid) })
        #expect(RestartPolicy(mode: .always).decide(after: try #require(exit), restartsSoFar: 0) == .stop(reason: "stopped on request"))
    }

    @Test func launchFailureAndReadyTimeoutAreClearErrors() async throws {
        let host = RecordingExecHost()
        let missing = ExecAgentProcess(processID: "p6", agent: "x",
                                       configuration: ExecConfiguration(argv: ["no-such-program-agentvm"]), host: host)
        await #expect(throws: ExecError.launchFailed("no-such-program-agentvm not found in PATH")) { try await missing.start() }

        var configuration = ExecConfiguration(argv: ["/bin/sh", "-c", "exec sleep 1000"])
        configuration.readyTimeout = .milliseconds(200)
        configuration.shutdownGrace = .milliseconds(100)
        let silent = ExecAgentProcess(processID: "p7", agent: "x", configuration: configuration, host: host)
        await #expect(throws: ExecError.readyTimeout(.milliseconds(200))) { try await silent.start() }
        // It ignored shutdown but not SIGTERM: the second step of the escalation ended it.
        #expect(silent.exitStatus == ExecExit(status: .signaled(SIGTERM), requested: true))
    }

    @Test func workingDirectoryAndEnvironment() async throws {
        let host = RecordingExecHost()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("exec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let program = """
        import sys, json, os, signal
        for line in sys.stdin:
            m = json.loads(line)
            if m["type"] == "hello": print(json.dumps({"type": "ready"}), flush=True)
            if m["type"] == "task":
                blocked = signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, [])
                out = {"cwd": os.getcwd(), "x": os.environ.get("AGENT_X"), "termBlocked": blocked,
                       "process": None}
                print(json.dumps({"type": "result", "id": m["id"], "output": out}), flush=True)
            if m["type"] == "shutdown": break
        """
        let env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "AGENT_X": "42"]
        let agent = ExecAgentProcess(processID: "p8", agent: "env",
                                     configuration: ExecConfiguration(argv: ["python3", "-c", program],
                                                                      workingDirectory: dir.path, environment: env),
                                     host: host)
        try await agent.start()
        defer { if agent.pid > 0 && agent.exitStatus == nil { kill(agent.pid, SIGKILL) } }
        let r = try await agent.runTask(id: "t1", task: "env", input: nil)
        #expect(r.output["cwd"]?.stringValue.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path }
                == dir.resolvingSymlinksInPath().path)
        #expect(r.output["x"] == "42")
        #expect(r.output["termBlocked"] == false)
        #expect(await agent.terminate()?.isSuccess == true)
    }

    @Test func restartPolicyDecisions() {
        let crash = ExecExit(status: .signaled(9), requested: false)
        let clean = ExecExit(status: .exited(0), requested: false)
        #expect(RestartPolicy(mode: .never).decide(after: crash, restartsSoFar: 0) == .stop(reason: "restart policy is never (killed by signal 9)"))
        #expect(RestartPolicy(mode: .onFailure).decide(after: clean, restartsSoFar: 0) == .stop(reason: "exited successfully"))
        #expect(RestartPolicy(mode: .always, maxRestarts: 3).decide(after: clean, restartsSoFar: 2) == .restart(attempt: 3))
        #expect(RestartPolicy(mode: .always, maxRestarts: 3).decide(after: clean, restartsSoFar: 3) == .stop(reason: "gave up after 3 restarts (exited with code 0)"))
    }

    @Test func requestParsingNamesFields() {
        #expect(throws: ExecProtocolError.missingField("key", in: "memory.get")) { try ExecRequest.parse(type: "memory.get", [:]) }
        #expect(throws: ExecProtocolError.wrongType("by", expected: "number", in: "memory.incr")) {
            try ExecRequest.parse(type: "memory.incr", ["key": "k", "by": "x"])
        }
        #expect((try? ExecRequest.parse(type: "send", ["to": "p9", "payload": 1])) == .send(to: "p9", payload: 1))
        #expect((try? ExecRequest.parse(type: "memory.sadd", ["key": "k", "members": [1, "a"], "namespace": "team"]))
                == .memorySAdd(key: "k", members: [1, "a"], namespace: "team"))
        #expect((try? ExecRequest.parse(type: "memory.smembers", ["key": "k", "shared": true]))
                == .memorySMembers(key: "k", namespace: "shared"))
        #expect(throws: ExecProtocolError.wrongType("members", expected: "array", in: "memory.srem")) {
            try ExecRequest.parse(type: "memory.srem", ["key": "k", "members": "a"])
        }
        #expect(throws: ExecProtocolError.wrongType("namespace", expected: "non-empty string", in: "memory.get")) {
            try ExecRequest.parse(type: "memory.get", ["key": "k", "namespace": 3])
        }
    }
}

@Suite struct ExecAgentDescriptorTests {
    /// Descriptors of this test process that are pipes.
    private static func openPipes() -> Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) ?? "").hasPrefix("pipe:") }.count
    }

    @Test func anExitedProgramsPipesAreClosedWhileItsProcessObjectLives() async throws {
        let host = RecordingExecHost()
        let program = #"read line; echo '{"type":"ready"}'; read line; exit 0"#
        let before = Self.openPipes()
        var agents: [ExecAgentProcess] = []
        for i in 0..<10 {
            let agent = ExecAgentProcess(processID: "fd\(i)", agent: "short",
                                         configuration: ExecConfiguration(argv: ["/bin/sh", "-c", program]), host: host)
            try await agent.start()
            #expect(await agent.terminate()?.isSuccess == true)
            agents.append(agent)  // kept, as the node keeps exited processes listed
        }
        // Each program had three pipes; they close once its readers saw EOF (a few ms after the exit).
        #expect(await eventually { Self.openPipes() <= before + 3 }, "pipes still open: \(Self.openPipes() - before) more than before")
        #expect(agents.allSatisfy { $0.exitStatus != nil })
    }
}
