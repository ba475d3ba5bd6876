import AgentVMTestKit
import ChildProcess
import Foundation
import NodeAgent
#if canImport(Glibc)
import Glibc
#endif

/// `agentvm-bench gossip`: failure detection on real processes, then the simulator's figures.
/// Starts a `nats-server` on loopback and `nodes` real `agentvm-node` processes (the binary built
/// beside this one) in one cluster at the default gossip settings; SIGKILLs one node `kills`
/// times (round robin, restarting it after each detection) and measures, from the SIGKILL, how
/// long until every survivor's `/v1/members` shows it `dead` (polled every 20 ms). Prints:
/// - `detect_dead_p50_ms`, `detect_dead_p99_ms`: median and 99th percentile (nearest rank) of
///   those times; the target is 3,000 ms (docs/gossip.md, "Detection").
/// - `detect_dead_max_ms`, `detect_dead_samples`.
/// Then `GossipSimBench.run()` prints the `sim<N>_*` lines.
enum GossipBench {
    static let nodes = 4
    static let kills = 10
    static let poll = Duration.milliseconds(20)

    static func run() async throws {
        try await realProcesses()
        GossipSimBench.run()
    }

    /// The real-process part; every child is stopped before it returns or throws.
    static func realProcesses() async throws {
        let binary = try nodeBinary()
        let nats = try NATSServerFixture.started(jetStream: false, name: "gossip-bench")
        defer { nats.stop() }
        let work = try TempDirectory(prefix: "agentvm-gossipbench")
        defer { work.remove() }
        let cluster = "bench_" + UUID().uuidString.prefix(8).lowercased()
        let ids = (1...nodes).map { "g\($0)" }
        var members: [String: BenchMember] = [:]
        defer { for m in members.values { m.kill() } }
        for id in ids {
            let m = try BenchMember(id: id, binary: binary, work: work.url, nats: nats.url, cluster: cluster)
            members[id] = m
            try await m.start()
        }
        let all = members.values.sorted { $0.id < $1.id }
        try await waitForViews(all, deadline: .seconds(60), what: "all \(nodes) nodes alive") { view in
            ids.allSatisfy { view[$0]?.status == "alive" }
        }

        var samples: [Double] = []
        for k in 0..<kills {
            let victim = all[k % all.count]
            let survivors = all.filter { $0.id != victim.id }
            let before = try await survivors[0].view()
            guard let life = before[victim.id]?.incarnation else {
                throw GossipBenchError("\(survivors[0].id) does not know \(victim.id)")
            }
            let clock = ContinuousClock()
            let killedAt = clock.now
            victim.kill()
            try await waitForViews(survivors, deadline: .seconds(60), poll: poll, what: "\(victim.id) dead") { view in
                view[victim.id].map { $0.status == "dead" && $0.incarnation == life } ?? false
            }
            let elapsed = clock.now - killedAt
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            samples.append(ms)
            FileHandle.standardError.write(Data("kill \(k + 1)/\(kills): \(victim.id) dead everywhere after \(Int(ms)) ms\n".utf8))

            try await victim.start()
            try await waitForViews(all, deadline: .seconds(60), what: "\(victim.id) back") { view in
                ids.allSatisfy { view[$0]?.status == "alive" } && (view[victim.id]?.incarnation ?? 0) > life
            }
            // A moment of steady state, so the next kill does not land during the rejoin's news.
            try await Task.sleep(for: .seconds(1))
        }

        let sorted = samples.sorted()
        print("detect_dead_p50_ms \(Int(percentile(sorted, 0.50)))")
        print("detect_dead_p99_ms \(Int(percentile(sorted, 0.99)))")
        print("detect_dead_max_ms \(Int(sorted.last ?? 0))")
        print("detect_dead_samples \(sorted.count)")
        fflush(nil)  // the figures reach a pipe before the slow simulator runs
        for m in all { m.stop() }
    }

    /// Nearest-rank percentile of sorted values.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count, max(1, rank)) - 1]
    }

    /// `agentvm-node` beside this executable. `swift run agentvm-bench` builds only the bench, so a
    /// missing node is built the same way (as the api suite does), when run from the package.
    static func nodeBinary() throws -> String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let exe = products.appendingPathComponent("agentvm-node")
        if !FileManager.default.isExecutableFile(atPath: exe.path) {
            try BenchNode.build(configuration: products.lastPathComponent == "release" ? "release" : "debug")
        }
        guard FileManager.default.isExecutableFile(atPath: exe.path) else {
            throw GossipBenchError("no agentvm-node beside agentvm-bench at \(exe.path) "
                + "(build it first: swift build -c release --product agentvm-node)")
        }
        return exe.path
    }

    /// Polls every member in `observers` until each view satisfies `condition`.
    static func waitForViews(_ observers: [BenchMember], deadline: Duration, poll: Duration = .milliseconds(100),
                             what: String, _ condition: ([String: BenchMember.Row]) -> Bool) async throws {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        var last: [String: [String: BenchMember.Row]] = [:]
        while true {
            var ok = true
            for o in observers {
                let view = (try? await o.view()) ?? [:]
                last[o.id] = view
                if !condition(view) {
                    ok = false
                    break
                }
            }
            if ok { return }
            guard clock.now < end else { throw GossipBenchError("timed out waiting for \(what); views: \(last)") }
            try await Task.sleep(for: poll)
        }
    }
}

/// One `agentvm-node` of the benchmark cluster: a fixed id and data directory, restartable.
final class BenchMember: @unchecked Sendable {
    struct Row: CustomStringConvertible {
        var status: String
        var incarnation: UInt64
        var description: String { "\(status)@\(incarnation)" }
    }

    let id: String
    private let argv: [String]
    private let dir: URL
    private let data: URL
    private var child: ChildProcess?
    private var runs = 0
    private(set) var api = ""
    private var client: APIClient?

    init(id: String, binary: String, work: URL, nats: String, cluster: String) throws {
        self.id = id
        dir = work.appendingPathComponent(id)
        data = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("agentvm.yml")
        try Data("name: gossipbench\nmemory:\n  backend: memory\n".utf8).write(to: config)
        argv = [binary, "start", "--config", config.path, "--data", data.path, "--listen", "127.0.0.1:0",
                "--node-id", id, "--nats", nats, "--cluster", cluster, "--log-level", "warning", "--exit-with-parent"]
    }

    /// Starts the process and waits until `node.json` names its API (for this pid) and it is ready.
    func start() async throws {
        runs += 1
        let process = try ChildProcess(argv, logDirectory: dir, name: "run-\(runs)")
        child = process
        let status = data.appendingPathComponent("node.json").path
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: .seconds(60))
        while clock.now < end {
            guard process.isRunning else {
                throw GossipBenchError("agentvm-node \(id) exited: \(process.stderrText())")
            }
            if let raw = FileManager.default.contents(atPath: status), let json = try? JSONValue.parse(raw),
               json["pid"]?.intValue == Int(process.pid), let api = json["api"]?.stringValue,
               let c = try? APIClient(baseURL: api, timeout: .seconds(2)),
               (try? await c.get("/readyz"))?["status"] == "ready" {
                self.api = api
                client = c
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw GossipBenchError("agentvm-node \(id) was not ready within 60 s: \(process.stderrText())")
    }

    /// Its `/v1/members`, by id.
    func view() async throws -> [String: Row] {
        guard let client else { return [:] }
        let answer = try await client.get("/v1/members")
        var rows: [String: Row] = [:]
        for m in answer["members"]?.arrayValue ?? [] {
            guard let id = m["id"]?.stringValue, let status = m["status"]?.stringValue,
                  let inc = m["incarnation"]?.doubleValue, let incarnation = UInt64(exactly: inc) else { continue }
            rows[id] = Row(status: status, incarnation: incarnation)
        }
        return rows
    }

    /// SIGKILL (and reap): no goodbye.
    func kill() {
        child?.kill9()
        client = nil
    }

    /// SIGTERM: a graceful leave.
    func stop() {
        child?.stop(grace: .seconds(15))
        client = nil
    }
}

/// A benchmark that could not run, with the reason.
struct GossipBenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
