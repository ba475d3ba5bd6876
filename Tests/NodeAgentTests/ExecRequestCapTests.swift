import ClusterCore
import Foundation
import Synchronization
import Testing
@testable import NodeAgent

/// An ExecHost whose requests wait at a gate the test opens, counting how many run at once.
final class GatedExecHost: ExecHost {
    private struct State {
        var open = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var started = 0
        var running = 0
        var mostRunning = 0
        var counter = 0.0
        var logs: [ExecLogEntry] = []
    }
    private let state = Mutex(State())

    func handle(_ request: ExecRequest, from process: String) async throws -> JSONValue {
        state.withLock { s in
            s.started += 1
            s.running += 1
            s.mostRunning = max(s.mostRunning, s.running)
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let go = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiters.append(c)
                return false
            }
            if go { c.resume() }
        }
        return state.withLock { s -> JSONValue in
            s.running -= 1
            guard case .memoryIncr(_, let by, _) = request else { return .null }
            s.counter += by
            return .number(s.counter)
        }
    }

    /// Lets every waiting and later request through.
    func openGate() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for c in waiters { c.resume() }
    }

    func emit(type: String, data: JSONValue, from process: String) {}
    func log(_ entry: ExecLogEntry, from process: String) { state.withLock { $0.logs.append(entry) } }
    func exited(_ exit: ExecExit, process: String) {}

    var started: Int { state.withLock { $0.started } }
    var waiting: Int { state.withLock { $0.waiters.count } }
    var mostRunning: Int { state.withLock { $0.mostRunning } }
    var counter: Double { state.withLock { $0.counter } }
    var logs: [ExecLogEntry] { state.withLock { $0.logs } }
}

@Suite struct ExecRequestCapTests {
    /// Floods N memory.incr requests from a second thread when it gets a task, reads the replies
    /// on the main one, and answers the task once all N are in.
    static let flooder = """
    import sys, json, threading
    N = int(sys.argv[1])
    lock = threading.Lock()
    def out(m):
        with lock:
            sys.stdout.write(json.dumps(m) + "\\n")
            sys.stdout.flush()
    def flood():
        for i in range(N):
            out({"type": "memory.incr", "id": "r%d" % i, "key": "flood", "by": 1})
        sys.stderr.write("flood written\\n")
        sys.stderr.flush()
    replies, task = {}, None
    for line in sys.stdin:
        m = json.loads(line)
        if m["type"] == "hello": out({"type": "ready"})
        elif m["type"] == "task":
            task = m["id"]
            threading.Thread(target=flood, daemon=True).start()
        elif m["type"] == "reply":
            replies[m["id"]] = m
            if len(replies) == N:
                errors = sum(1 for r in replies.values() if "error" in r)
                top = max(r.get("result") or 0 for r in replies.values())
                out({"type": "result", "id": task, "output": {"replies": len(replies), "errors": errors, "top": top}})
        elif m["type"] == "shutdown": break
    """

    @Test func aFloodingProgramIsHeldAtItsCapAndEveryRequestIsAnswered() async throws {
        let host = GatedExecHost()
        // ~65 bytes a request: 5,000 are far more than the pipe (64 KiB) and our read buffer hold.
        let n = 5_000
        var configuration = ExecConfiguration(argv: ["python3", "-c", Self.flooder, String(n)])
        configuration.maxInFlightRequests = 8
        let agent = ExecAgentProcess(processID: "flood-1", agent: "flooder", configuration: configuration, host: host)
        try await agent.start()
        defer { if agent.pid > 0 && agent.exitStatus == nil { kill(agent.pid, SIGKILL) } }

        let result = Task { try await agent.runTask(id: "t1", task: "flood", input: nil) }
        // The gate is shut: exactly the cap reaches the host, and reading stops.
        #expect(await eventually(.seconds(30)) { host.waiting == 8 && agent.isPausedAtRequestCap })
        #expect(host.started == 8)
        #expect(agent.requestsInFlight == 8)
        // The program is blocked writing: what it wrote cannot all fit in the pipe and our buffer.
        #expect(!host.logs.contains { $0.source == .stderr && $0.message == "flood written" })
        #expect(host.logs.contains { $0.source == .node && $0.level == "warn" && $0.message.contains("cap of 8 requests in flight") })

        host.openGate()
        let output = try await result.value.output
        #expect(output == ["replies": .number(Double(n)), "errors": 0, "top": .number(Double(n))])
        #expect(host.counter == Double(n))
        #expect(host.mostRunning <= 8)
        #expect(agent.requestsInFlightHighWater == 8)
        #expect(agent.requestCapPauses >= 1)
        #expect(await eventually { agent.requestsInFlight == 0 })
        #expect(await agent.terminate() == ExecExit(status: .exited(0), requested: true))
    }

    @Test func aProgramThatNeverReadsItsRepliesIsHeldAndStillStops() async throws {
        // POSIX sh: says ready, then writes requests forever and never reads stdin.
        let host = RecordingExecHost()
        let script = #"echo '{"type":"ready"}'; i=0; while :; do echo "{\"type\":\"memory.get\",\"id\":\"r$i\",\"key\":\"k\"}"; i=$((i+1)); done"#
        var configuration = ExecConfiguration(argv: ["/bin/sh", "-c", script])
        configuration.maxInFlightRequests = 4
        configuration.shutdownGrace = .milliseconds(200)
        configuration.terminateGrace = .seconds(5)
        let agent = ExecAgentProcess(processID: "flood-2", agent: "deaf", configuration: configuration, host: host)
        try await agent.start()
        let pid = agent.pid
        defer { if isAlive(pid) { kill(-pid, SIGKILL) } }
        // Its replies fill its stdin pipe; then every slot waits on a write and reading stops for good.
        // Reading also pauses for a moment whenever replies lag behind requests, so "stopped for
        // good" is the pause with no request taken over several polls.
        var last = -1
        var still = 0
        #expect(await eventually(.seconds(30)) {
            let taken = host.requests.count
            let stuck = agent.isPausedAtRequestCap && agent.requestsInFlight == 4 && taken == last
            still = stuck ? still + 1 : 0
            last = taken
            return still >= 10
        })
        // Bounded by the pipe: 64 KiB of ~40-byte replies, plus the cap; nothing can move now.
        let answered = host.requests.count
        let heldBound: Int = 65_536 / 30 + 4
        #expect(answered < heldBound, "\(answered) requests taken")
        // The shutdown line cannot be written either; SIGTERM ends it.
        #expect(await agent.terminate() == ExecExit(status: .signaled(SIGTERM), requested: true))
        // Once it has exited, what it left in its stdout pipe and our read buffer is still served.
        #expect(await eventually { agent.requestsInFlight == 0 })
        // In all: replies that fit its stdin pipe, the cap, and what its stdout pipe and our 64 KiB
        // read buffer held (~47-byte requests; a third 64 KiB of slack for pipe pages and partial
        // lines); an unbounded node would have taken millions.
        let bound: Int = 65_536 / 40 + 4 + 3 * 65_536 / 45
        let taken = host.requests.count
        #expect(taken < bound, "\(taken) requests taken")
    }

    @Test func theCapIsReadFromTheConfigWithLineNumberedErrors() throws {
        let good = try NodeConfig.parse("""
            agents:
              py:
                handler: exec
                command: [python3, agent.py]
                exec:
                  maxInFlightRequests: 16
              plain:
                handler: exec
                command: [python3, agent.py]
            """, file: "agentvm.yml")
        let py = try #require(good.agent(named: "py"))
        #expect(try #require(ExecAgentSpec(agent: py, config: good)).configuration().maxInFlightRequests == 16)
        let plain = try #require(good.agent(named: "plain"))
        #expect(try #require(ExecAgentSpec(agent: plain, config: good)).configuration().maxInFlightRequests
                == ExecConfiguration.defaultMaxInFlightRequests)

        func issues(_ text: String) -> [String] { configIssues(text) }
        #expect(issues("""
            agents:
              py:
                handler: exec
                command: [python3, agent.py]
                exec:
                  maxInFlightRequests: 0
                  maxInflight: 3
              e:
                handler: echo
                exec: {maxInFlightRequests: 5}
            """) == [
            "agentvm.yml:6:7: agents.py.exec.maxInFlightRequests: must be a positive integer, got 0",
            "agentvm.yml:7:7: agents.py.exec.maxInflight: unknown key 'maxInflight' (hint: expected one of: maxInFlightRequests)",
            "agentvm.yml:10:5: agents.e.exec: 'exec' settings are only used by the exec handler (hint: remove them or set 'handler: exec')",
        ])
    }
}
