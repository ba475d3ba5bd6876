import AgentVMTestKit
import ChildProcess
import Foundation
import NodeAgent
#if canImport(Glibc)
import Glibc
#endif

/// The built `agentvm-node` binary, found beside the test bundle (`swift build --build-tests`
/// builds it into the same products directory), or at `AGENTVM_NODE_BINARY`.
enum NodeBinary {
    static func path() throws -> String {
        if let forced = ProcessInfo.processInfo.environment["AGENTVM_NODE_BINARY"], !forced.isEmpty { return forced }
        var candidates: [URL] = []
        for start in [URL(fileURLWithPath: CommandLine.arguments[0]), Bundle.main.bundleURL, Bundle.main.executableURL].compactMap({ $0 }) {
            var dir = start.resolvingSymlinksInPath()
            // The test bundle sits in the products directory (or one level inside it, on macOS).
            for _ in 0..<4 {
                dir = dir.deletingLastPathComponent()
                candidates.append(dir.appendingPathComponent("agentvm-node"))
            }
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw FixtureError.notReady("agentvm-node binary (looked in \(candidates.map(\.path)); run 'swift build --build-tests')")
        }
        return found.path
    }
}

/// What a CLI run printed and how it exited.
struct CLIRun: CustomStringConvertible {
    var code: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(code)\nstdout: \(stdout)\nstderr: \(stderr)" }
    /// Standard output parsed as JSON.
    func json() throws -> JSONValue { try JSONValue.parse(stdout) }
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// A real `agentvm-node start` in a temp directory, driven through the CLI binary and HTTP.
/// Every child is stopped by PID when the test ends (ChildProcess reaps on release).
final class NodeUnderTest {
    let dir: TempDirectory
    let binary: String
    let config: URL
    var data: URL { dir.url.appendingPathComponent("data") }
    private(set) var child: ChildProcess?
    private(set) var api = ""
    private var runs = 0
    let extraArgs: [String]

    init(config text: String, extraArgs: [String] = []) throws {
        dir = try TempDirectory(prefix: "e2e")
        binary = try NodeBinary.path()
        config = dir.file("agentvm.yml")
        self.extraArgs = extraArgs
        try Data(text.utf8).write(to: config)
    }

    var port: UInt16 { UInt16(URL(string: api)?.port ?? 0) }

    /// Starts the node and waits (with a deadline) until node.json names its API and /readyz says ready.
    func start() async throws {
        runs += 1
        let process = try ChildProcess([binary, "start", "--config", config.path, "--data", data.path,
                                        "--listen", "127.0.0.1:0", "--log-level", "info", "--exit-with-parent"] + extraArgs,
                                       logDirectory: dir.url, name: "node-\(runs)")
        child = process
        let status = data.appendingPathComponent("node.json").path
        var found = ""
        let ready = try await waitUntil(deadline: .seconds(60), poll: .milliseconds(50)) {
            guard process.isRunning else { throw FixtureError.exited("agentvm-node: \(process.stderrText())", process.termination?.exitCode ?? -1) }
            guard let raw = FileManager.default.contents(atPath: status),
                  let json = try? JSONValue.parse(raw), let api = json["api"]?.stringValue,
                  json["pid"]?.intValue == Int(process.pid) else { return false }
            guard let client = try? APIClient(baseURL: api, timeout: .seconds(2)),
                  (try? await client.get("/readyz"))?["status"] == "ready" else { return false }
            found = api
            return true
        }
        guard ready else { throw FixtureError.notReady("agentvm-node (stderr: \(process.stderrText()))") }
        api = found
    }

    /// SIGTERM and the exit code (waits with a deadline; SIGKILL after it).
    func terminate() async -> Int32? {
        guard let child else { return nil }
        child.signal(SIGTERM)
        _ = await waitUntil(deadline: .seconds(30), poll: .milliseconds(20)) { !child.isRunning }
        guard let ended = child.termination else {
            child.kill9()
            return nil
        }
        return ended.exitCode
    }

    /// SIGKILL, no chance to clean up.
    func kill() {
        child?.kill9()
    }

    /// Runs the CLI binary with `args` (plus `--api` of this node) and waits for it.
    func cli(_ args: [String], api explicit: Bool = true, environment: [String: String] = [:]) async throws -> CLIRun {
        runs += 1
        let argv = [binary] + args + (explicit && !api.isEmpty ? ["--api", api] : [])
        let process = try ChildProcess(argv, environment: environment, logDirectory: dir.url, name: "cli-\(runs)")
        let done = await waitUntil(deadline: .seconds(60), poll: .milliseconds(10)) { !process.isRunning }
        guard done, let ended = process.termination else {
            process.kill9()
            throw FixtureError.notReady("agentvm-node \(args.joined(separator: " ")) did not finish")
        }
        return CLIRun(code: ended.exitCode, stdout: process.stdoutText(), stderr: process.stderrText())
    }

    /// A CLI child left running (for `logs --follow`); the caller stops it.
    func cliChild(_ args: [String]) throws -> ChildProcess {
        runs += 1
        return try ChildProcess([binary] + args + ["--api", api], logDirectory: dir.url, name: "cli-\(runs)")
    }

    /// An API client for this node.
    func client() throws -> APIClient { try APIClient(baseURL: api, timeout: .seconds(30)) }

    deinit {
        child?.kill9()
    }
}
