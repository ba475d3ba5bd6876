import ClusterCore
import Foundation

/// How the exec handler runs one agent's program: argv, directory, environment, restart policy.
public struct ExecAgentSpec: Sendable, Equatable {
    /// Program and arguments, never run through a shell.
    public var argv: [String]
    /// Working directory (the config file's directory); nil = the node's.
    public var workingDirectory: String?
    /// Variables added to the node's environment (`env:` in the config).
    public var environment: [String: String]
    /// What happens when the program dies on its own.
    public var restart: RestartPolicy
    /// How long a graceful stop waits for the program to exit after `shutdown`.
    public var shutdownGrace: Duration
    /// Most requests the program may have in flight (`exec.maxInFlightRequests`).
    public var maxInFlightRequests: Int

    /// A spec from its parts.
    public init(argv: [String], workingDirectory: String? = nil, environment: [String: String] = [:],
                restart: RestartPolicy = RestartPolicy(mode: .onFailure, maxRestarts: 3),
                shutdownGrace: Duration = .seconds(5),
                maxInFlightRequests: Int = ExecConfiguration.defaultMaxInFlightRequests) {
        self.argv = argv
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.restart = restart
        self.shutdownGrace = shutdownGrace
        self.maxInFlightRequests = maxInFlightRequests
    }

    /// The spec of a config agent with `handler: exec`; nil when it has no command.
    public init?(agent: NodeConfig.Agent, config: NodeConfig) {
        guard let argv = agent.command, !argv.isEmpty else { return nil }
        let mode = RestartPolicy.Mode(rawValue: agent.restart.policy.rawValue) ?? .onFailure
        self.init(argv: argv, workingDirectory: config.baseDirectory, environment: config.env,
                  restart: RestartPolicy(mode: mode, maxRestarts: agent.restart.maxRestarts),
                  shutdownGrace: min(config.node.shutdownGrace, .seconds(5)),
                  maxInFlightRequests: agent.execMaxInFlightRequests ?? ExecConfiguration.defaultMaxInFlightRequests)
    }

    /// The `ExecConfiguration` for one run of the program.
    func configuration() -> ExecConfiguration {
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, configured in configured }
        var c = ExecConfiguration(argv: argv, workingDirectory: workingDirectory, environment: env)
        c.shutdownGrace = shutdownGrace
        c.maxInFlightRequests = maxInFlightRequests
        return c
    }
}

/// Why the exec handler could not serve a process.
public struct ExecBindingError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    /// An error with `message`.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
