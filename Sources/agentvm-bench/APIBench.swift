import Foundation
import NodeAgent
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `agentvm-bench api`: the node's HTTP API under load. Starts the real `agentvm-node` binary
/// (built beside this one) on a free loopback port with a temporary data dir, drives it with
/// Debian's `wrk` (keep-alive, several connections), and prints `NAME VALUE` lines:
/// - `http_healthz_per_s`: GET /healthz answered per second.
/// - `http_get_agents_per_s`: GET /v1/agents answered per second: a route that runs on a Task (the
///   connection is suspended meanwhile), unlike /healthz which the polling thread answers itself.
/// - `http_spawn_per_s`: POST /v1/processes (one echo process each) answered 2xx per second; bound
///   by the durable SQLite commit each spawn waits for, not by HTTP.
/// - `sse_events_per_s`: events received by one /v1/events client per second while the node
///   emits as fast as batch spawns make it.
enum APIBench {
    // Two wrk threads (one per core, sharing them with the node) and 32 keep-alive connections:
    // enough requests in flight to keep both polling threads busy; 5 s per figure.
    static let seconds = 5
    static let connections = 32

    static func run() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("agentvm-apibench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let node = try BenchNode(work: work)
        defer { node.stop() }
        let api = try await node.waitReady(deadline: .seconds(60))
        let client = try APIClient(baseURL: api, timeout: .seconds(30))

        let healthz = try Wrk.run(url: api + "/healthz", script: nil, work: work)
        print("http_healthz_per_s \(Int(healthz))")

        let agents = try Wrk.run(url: api + "/v1/agents", script: nil, work: work)
        print("http_get_agents_per_s \(Int(agents))")

        let spawn = try Wrk.run(url: api + "/v1/processes", script: Wrk.post(#"{"agent":"echo"}"#), work: work)
        print("http_spawn_per_s \(Int(spawn))")

        print("sse_events_per_s \(Int(try await sseRate(client)))")
    }

    /// Events received per second by one /v1/events client while the node emits as fast as it
    /// can: concurrent batch spawns (each spawned process emits its lifecycle events). The rate
    /// runs from the first burst to the last event received.
    static func sseRate(_ client: APIClient) async throws -> Double {
        let counter = EventCounter()
        let reader = Task {
            for try await _ in client.events("/v1/events") { counter.add() }
        }
        defer { reader.cancel() }
        let clock = ContinuousClock()
        // The stream is attached once an event comes through.
        let attachDeadline = clock.now.advanced(by: .seconds(10))
        while counter.value == 0, clock.now < attachDeadline {
            _ = try? await client.put("/v1/memory/shared/apibench", ["value": 1])
            try await Task.sleep(for: .milliseconds(20))
        }
        guard counter.value > 0 else { throw BenchError("no event arrived on /v1/events") }
        let emittedBefore = try await client.get("/v1/stats")["eventsEmitted"]?.doubleValue ?? 0
        let start = counter.value
        let began = clock.now
        let end = began.advanced(by: .seconds(seconds))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    while clock.now < end { _ = try await client.post("/v1/processes", ["agent": "echo", "count": 200]) }
                }
            }
            try await group.waitForAll()
        }
        let emitted = Int((try await client.get("/v1/stats")["eventsEmitted"]?.doubleValue ?? 0) - emittedBefore)
        // Wait for the stream to deliver what was emitted (or to stop making progress).
        var last = -1
        while counter.value - start < emitted, counter.value != last {
            last = counter.value
            try await Task.sleep(for: .milliseconds(500))
        }
        guard let lastEvent = counter.lastAt else { return 0 }
        return Double(counter.value - start) / began.duration(to: lastEvent).secondsDouble
    }
}

/// Counts SSE events from the reader task.
final class EventCounter: Sendable {
    private let state = Mutex<(count: Int, at: ContinuousClock.Instant?)>((0, nil))
    func add() { state.withLock { $0 = ($0.count + 1, ContinuousClock.now) } }
    var value: Int { state.withLock { $0.count } }
    /// When the latest event arrived.
    var lastAt: ContinuousClock.Instant? { state.withLock { $0.at } }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

extension Duration {
    var secondsDouble: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}

/// `wrk` as a subprocess; the answer rate is (requests - non-2xx) / duration from its report.
enum Wrk {
    static func post(_ body: String) -> String {
        """
        wrk.method = "POST"
        wrk.body = '\(body)'
        wrk.headers["Content-Type"] = "application/json"
        """
    }

    static func run(url: String, script: String?, work: URL) throws -> Double {
        var args = ["-t2", "-c\(APIBench.connections)", "-d\(APIBench.seconds)s"]
        if let script {
            let file = work.appendingPathComponent("wrk-\(UUID().uuidString.prefix(6)).lua")
            try Data(script.utf8).write(to: file)
            args += ["-s", file.path]
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
        p.arguments = args + [url]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let report = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0, let rate = parse(report) else {
            throw BenchError("wrk failed on \(url):\n\(report)")
        }
        return rate
    }

    /// From "N requests in 5.00s, ..." and "Non-2xx or 3xx responses: M".
    static func parse(_ report: String) -> Double? {
        var requests: Double?
        var seconds: Double?
        var failed = 0.0
        for line in report.split(separator: "\n") {
            let words = line.split(separator: " ")
            if let i = words.firstIndex(of: "requests"), i > 0, words.count > i + 2, words[i + 1] == "in" {
                requests = Double(words[i - 1])
                seconds = Double(words[i + 2].trimmingCharacters(in: CharacterSet(charactersIn: "s,")))
            }
            if line.contains("Non-2xx or 3xx responses:"), let n = words.last.flatMap({ Double($0) }) { failed = n }
        }
        guard let requests, let seconds, seconds > 0 else { return nil }
        return (requests - failed) / seconds
    }
}

/// The release `agentvm-node` binary started for the benchmark, stopped with SIGTERM.
final class BenchNode {
    let process = Process()
    let data: URL

    init(work: URL) throws {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let exe = products.appendingPathComponent("agentvm-node")
        // `swift run agentvm-bench` builds only the bench: build the node the same way, always, so
        // that a stale node binary (or a debug one) is never what gets measured.
        try Self.build(configuration: products.lastPathComponent == "release" ? "release" : "debug")
        guard FileManager.default.isExecutableFile(atPath: exe.path) else {
            throw BenchError("no agentvm-node beside agentvm-bench at \(exe.path) (build it: swift build -c release --product agentvm-node)")
        }
        data = work.appendingPathComponent("data")
        let config = work.appendingPathComponent("agentvm.yml")
        try Data("""
            name: apibench
            maxProcesses: 1000000
            memory:
              backend: sqlite
            node:
              logLevel: error
            agents:
              echo:
                handler: echo

            """.utf8).write(to: config)
        process.executableURL = exe
        process.arguments = ["start", "--config", config.path, "--data", data.path, "--listen", "127.0.0.1:0", "--log-level", "error", "--exit-with-parent"]
        let log = work.appendingPathComponent("node.stderr")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// `swift build -c CONFIGURATION --product agentvm-node` in the package (the working directory).
    static func build(configuration: String) throws {
        guard FileManager.default.fileExists(atPath: "Package.swift") else { return }
        FileHandle.standardError.write(Data("agentvm-bench: building agentvm-node (\(configuration))\n".utf8))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["swift", "build", "-c", configuration, "--product", "agentvm-node"]
        p.standardOutput = FileHandle.standardError
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw BenchError("building agentvm-node failed (status \(p.terminationStatus))") }
    }

    /// Waits for `<data>/node.json` and a 200 from /readyz; returns the API URL.
    func waitReady(deadline: Duration) async throws -> String {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        while clock.now < end {
            guard process.isRunning else { throw BenchError("agentvm-node exited with status \(process.terminationStatus)") }
            if let raw = FileManager.default.contents(atPath: data.appendingPathComponent("node.json").path),
               let api = (try? JSONValue.parse(raw))?["api"]?.stringValue,
               let client = try? APIClient(baseURL: api, timeout: .seconds(2)),
               (try? await client.get("/readyz"))?["status"] == "ready" {
                return api
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("agentvm-node did not become ready within \(deadline)")
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: .seconds(20))
        while process.isRunning, clock.now < end { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
