import ClusterCore
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `agentvm-node start`'s flags. Each set one wins over `AGENTVM_*` variables, which win over the
/// config file, which wins over the defaults.
public struct NodeStartOptions: Sendable {
    /// Config file; nil = `./agentvm.yml` when it exists, else defaults only.
    public var configPath: String?
    /// `node.data`.
    public var dataDir: String?
    /// `node.listen`, `HOST:PORT` (port 0 picks a free one).
    public var listen: String?
    /// `node.id`.
    public var nodeID: String?
    /// `node.token`.
    public var token: String?
    /// `cluster.nats` (non-empty joins a cluster).
    public var nats: [String]
    /// `cluster.name`.
    public var cluster: String?
    /// `node.logLevel`.
    public var logLevel: String?
    /// Stop gracefully when the parent process exits (`--exit-with-parent`).
    public var exitWithParent: Bool

    /// Options as parsed from the command line; nil leaves a setting to the lower layers.
    public init(configPath: String? = nil, dataDir: String? = nil, listen: String? = nil, nodeID: String? = nil,
                token: String? = nil, nats: [String] = [], cluster: String? = nil, logLevel: String? = nil,
                exitWithParent: Bool = false) {
        self.exitWithParent = exitWithParent
        self.configPath = configPath
        self.dataDir = dataDir
        self.listen = listen
        self.nodeID = nodeID
        self.token = token
        self.nats = nats
        self.cluster = cluster
        self.logLevel = logLevel
    }
}

/// Runs a node in the foreground until SIGINT or SIGTERM (graceful stop); SIGHUP reloads the config.
public enum NodeDaemon {
    /// Loads the config, starts a node, and serves until a stop signal. Returns the exit code:
    /// 0 after a graceful stop, 2 for a bad config (every issue printed on stderr), 1 when the
    /// node cannot start.
    public static func run(_ options: NodeStartOptions) async -> Int32 {
        let environment = ProcessInfo.processInfo.environment
        let config: NodeConfig
        do throws(ConfigErrors) {
            config = try loadConfig(options, environment: environment)
        } catch {
            printError(error.issues.map(\.description).joined(separator: "\n"))
            return 2
        }
        // Signals are ignored first so none can kill the process before the sources are in place.
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, SIG_IGN) }
        let node: Node
        do {
            node = try Node(config: config, configSource: { () throws -> NodeConfig in
                try loadConfig(options, environment: ProcessInfo.processInfo.environment)
            })
        } catch {
            printError("agentvm-node: cannot start: \(error)")
            return 1
        }
        let signals = SignalWatcher()
        let parentWatch = options.exitWithParent ? watchParent(node.logger) : nil
        defer { parentWatch?.cancel() }
        do {
            try await node.start()
        } catch {
            node.logger.error("node failed to start", ["error": .string("\(error)")])
            await node.stop()
            return 1
        }
        for await sig in signals.stream {
            if sig == SIGHUP {
                node.logger.info("SIGHUP: reloading the config")
                await node.reload()
                continue
            }
            node.logger.info("stop signal received", ["signal": .string(sig == SIGINT ? "SIGINT" : "SIGTERM")])
            break
        }
        signals.cancel()
        await node.stop()
        return 0
    }

    /// Polls the parent pid; once the parent has exited (the node is re-parented), the node sends
    /// itself SIGTERM, so it stops through the same graceful path as a signal from outside.
    /// Polling because posix_spawn cannot ask the kernel for a parent-death signal.
    static func watchParent(_ logger: NodeLogger) -> Task<Void, Never> {
        let parent = getppid()
        return Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                if getppid() != parent {
                    logger.warn("the parent process exited; stopping", ["parent": .number(Double(parent))])
                    kill(getpid(), SIGTERM)
                    return
                }
            }
        }
    }

    /// The config `run` would use: the file (or `./agentvm.yml`, or none), `${VAR}` substitution and
    /// `AGENTVM_*` overrides, then `options` on top. Throws every issue at once.
    public static func loadConfig(_ options: NodeStartOptions,
                                  environment: [String: String]) throws(ConfigErrors) -> NodeConfig {
        var config: NodeConfig
        let path = options.configPath ?? (FileManager.default.fileExists(atPath: "agentvm.yml") ? "agentvm.yml" : nil)
        if let path {
            config = try NodeConfig.load(path: path, environment: environment, knownTools: NodeTools.names)
        } else {
            config = try NodeConfig.parse("", file: "(defaults)", environment: environment, knownTools: NodeTools.names)
        }
        var issues: [ConfigIssue] = []
        func flagIssue(_ flag: String, _ field: String, _ message: String) {
            issues.append(ConfigIssue(file: "--\(flag)", mark: Mark(line: 0, column: 0, source: "--\(flag)"),
                                      path: field, message: message))
        }
        if let data = options.dataDir {
            if data.isEmpty { flagIssue("data", "node.data", "must not be empty") } else { config.node.data = data }
        }
        if let listen = options.listen {
            if ListenAddress.parse(listen) == nil {
                flagIssue("listen", "node.listen", "'\(listen)' is not HOST:PORT (e.g. 127.0.0.1:7070)")
            } else {
                config.node.listen = listen
            }
        }
        if let id = options.nodeID {
            if id.isEmpty || id.contains(where: { $0.isWhitespace || $0 == "/" }) {
                flagIssue("node-id", "node.id", "'\(id)' is not a valid id (no spaces or slashes)")
            } else {
                config.node.id = id
            }
        }
        if let token = options.token { config.node.token = token.isEmpty ? nil : token }
        if let level = options.logLevel {
            if let l = NodeConfig.LogLevel(rawValue: level) { config.node.logLevel = l } else {
                flagIssue("log-level", "node.logLevel", "unknown level '\(level)'")
            }
        }
        if !options.nats.isEmpty || options.cluster != nil {
            var cluster = config.cluster ?? NodeConfig.Cluster()
            if !options.nats.isEmpty { cluster.nats = options.nats }
            if let name = options.cluster { cluster.name = name }
            config.cluster = cluster
        }
        if !issues.isEmpty { throw ConfigErrors(issues) }
        return config
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}

/// SIGINT, SIGTERM and SIGHUP as an async stream, through dispatch sources (the signals must be
/// ignored with `signal(_, SIG_IGN)` first so their default action does not run).
final class SignalWatcher: Sendable {
    let stream: AsyncStream<Int32>
    private let sources: [SignalSourceBox]

    init(signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]) {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        self.stream = stream
        let queue = DispatchQueue(label: "agentvm.signals")
        sources = signals.map { sig in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { continuation.yield(sig) }
            source.resume()
            return SignalSourceBox(source: source)
        }
    }

    func cancel() {
        for s in sources { s.source.cancel() }
    }
}

/// A dispatch source is thread-safe; this box only tells the compiler so.
private struct SignalSourceBox: @unchecked Sendable {
    let source: any DispatchSourceSignal
}
