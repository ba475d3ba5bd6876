/// The command table of `agentvm-node`: the daemon (`start`), config tools (`init`,
/// `validate`) and the client commands that talk to a node's HTTP API. Actions live elsewhere;
/// this is only what each command accepts.
public enum NodeCommands {
    /// Default API address of a local node.
    public static let defaultAPI = "http://127.0.0.1:7070"

    static let json = OptionSpec.flag("json", help: "Print stable JSON instead of a table.")
    static let pid = ArgumentSpec("PID", help: "Process id.")
    static let namespace: [OptionSpec] = [
        OptionSpec("ns", value: "NS", help: "Namespace to use (default: the shared namespace)."),
        .flag("shared", help: "Use the shared namespace."),
    ]

    /// The whole tree, rooted at the program.
    public static let spec = CommandSpec(
        "agentvm-node",
        summary: "run AI-agent processes: an embedded node, a cluster member, and its command-line client",
        options: [
            OptionSpec("api", value: "URL", help: "Node API to talk to.", env: "AGENTVM_API", default: defaultAPI),
            OptionSpec("token", value: "TOKEN", help: "Bearer token for the API; for 'start', the token the API requires.", env: "AGENTVM_TOKEN"),
        ],
        subcommands: [
            CommandSpec("init", summary: "Write a commented agentvm.yml with a working example agent.",
                        arguments: [ArgumentSpec("DIR", help: "Directory to write into.", optional: true, default: ".")],
                        options: [.flag("force", help: "Overwrite an existing agentvm.yml.")]),
            CommandSpec("start", summary: "Run a node in the foreground.",
                        discussion: "Without a cluster the node is embedded: in-process transport, SQLite state under --data.\nFlags win over AGENTVM_* variables, which win over the config file.",
                        options: [
                            OptionSpec("config", short: "c", value: "FILE", help: "Config file (default: ./agentvm.yml when it exists)."),
                            OptionSpec("data", value: "DIR", help: "State directory (default: node.data, else ./.agentvm)."),
                            OptionSpec("listen", value: "HOST:PORT", help: "API address (default: node.listen, else 127.0.0.1:7070)."),
                            OptionSpec("node-id", value: "ID", help: "This node's id (default: node.id, else derived once and kept)."),
                            OptionSpec("nats", value: "URL", help: "NATS server to join a cluster through.", repeated: true),
                            OptionSpec("cluster", value: "NAME", help: "Cluster name (default: cluster.name, else 'default')."),
                            OptionSpec("log-level", value: "LEVEL", kind: .choice(NodeConfig.LogLevel.allCases.map(\.rawValue)), help: "Log level."),
                            .flag("exit-with-parent", help: "Stop gracefully (as on SIGTERM) when the process that started the node exits (tests, benchmarks, supervisors)."),
                        ]),
            CommandSpec("validate", summary: "Check a config file; exits non-zero and lists every error.",
                        arguments: [ArgumentSpec("FILE", help: "Config file.", optional: true, default: "agentvm.yml")]),
            CommandSpec("agents", summary: "List the agents a node knows.", options: [json]),
            CommandSpec("spawn", summary: "Spawn processes of an agent; prints their ids.",
                        arguments: [ArgumentSpec("AGENT", help: "Agent name.")],
                        options: [
                            OptionSpec("input", value: "JSON", kind: .json, help: "Start input for each process."),
                            OptionSpec("count", short: "n", value: "N", kind: .integer(min: 1), help: "How many to spawn.", default: "1"),
                            json,
                        ]),
            CommandSpec("ps", summary: "List processes (id, agent, state, node).",
                        options: [OptionSpec("agent", value: "NAME", help: "Only processes of this agent."), json]),
            CommandSpec("pause", summary: "Pause a running process.", arguments: [pid]),
            CommandSpec("resume", summary: "Resume a paused process.", arguments: [pid]),
            CommandSpec("kill", summary: "Terminate a process.", arguments: [pid]),
            CommandSpec("exec", summary: "Run a task on a process and print its result.",
                        arguments: [pid],
                        options: [
                            OptionSpec("task", value: "NAME", help: "Task name.", required: true),
                            OptionSpec("input", value: "JSON", kind: .json, help: "Task input."),
                            OptionSpec("timeout", value: "DURATION", kind: .duration, help: "Give up after this long."),
                            json,
                        ]),
            CommandSpec("send", summary: "Send a message to a process's mailbox.",
                        arguments: [pid, ArgumentSpec("JSON", help: "Message payload.", kind: .json)],
                        options: [OptionSpec("priority", value: "N", kind: .integer(min: Int.min), help: "Higher is delivered first.", default: "0")]),
            CommandSpec("publish", summary: "Publish a message on a channel.",
                        arguments: [ArgumentSpec("CHANNEL", help: "Channel name."), ArgumentSpec("JSON", help: "Message payload.", kind: .json)],
                        options: [
                            OptionSpec("priority", value: "N", kind: .integer(min: Int.min), help: "Higher is delivered first.", default: "0"),
                            OptionSpec("to", value: "PID", help: "Recipient on a direct channel."),
                        ]),
            CommandSpec("logs", summary: "Show events and process logs.",
                        arguments: [ArgumentSpec("PID", help: "Only this process.", optional: true)],
                        options: [
                            .flag("follow", short: "f", help: "Keep streaming new events."),
                            OptionSpec("type", value: "TYPE", help: "Only events of this type (prefix match, e.g. process.).", repeated: true),
                            OptionSpec("limit", value: "N", kind: .integer(min: 1), help: "How many past events to show.", default: "100"),
                            json,
                        ]),
            memory,
            CommandSpec("checkpoint", summary: "Checkpoint a process.",
                        arguments: [pid],
                        options: [OptionSpec("out", short: "o", value: "FILE", help: "Write the checkpoint here (default: print it).")]),
            CommandSpec("restore", summary: "Restore a process from a checkpoint file.",
                        arguments: [ArgumentSpec("FILE", help: "Checkpoint file.")], options: [json]),
            CommandSpec("stats", summary: "Show node statistics.", options: [json]),
            CommandSpec("members", summary: "List cluster members (id, status, incarnation, lastSeen, health).", options: [json]),
        ])

    static let key = ArgumentSpec("KEY", help: "Key.")

    static let memory = CommandSpec(
        "memory", summary: "Read and write memory in a namespace or the shared one.",
        options: namespace,
        subcommands: [
            CommandSpec("get", summary: "Print a key's value.", arguments: [key], options: [json]),
            CommandSpec("set", summary: "Set a key to a JSON value.",
                        arguments: [key, ArgumentSpec("JSON", help: "Value.", kind: .json)],
                        options: [OptionSpec("ttl", value: "DURATION", kind: .duration, help: "Expire after this long.")]),
            CommandSpec("del", summary: "Delete a key.", arguments: [key]),
            CommandSpec("ls", summary: "List keys.",
                        options: [OptionSpec("prefix", value: "PREFIX", help: "Only keys starting with this."), json]),
            CommandSpec("incr", summary: "Add to a numeric key; prints the new value.",
                        // [replicated-memory] optional positional BY (`memory incr --shared KEY [BY]`)
                        arguments: [key, ArgumentSpec("BY", help: "Amount (same as --by).", kind: .number, optional: true)],
                        options: [OptionSpec("by", value: "N", kind: .number, help: "Amount (may be negative or fractional; whole numbers on a cluster's shared namespace).", default: "1")]),
            CommandSpec("sadd", summary: "Add members to a set.",
                        arguments: [key, ArgumentSpec("MEMBER", help: "Members to add.", variadic: true)]),
            CommandSpec("srem", summary: "Remove members from a set.",
                        arguments: [key, ArgumentSpec("MEMBER", help: "Members to remove.", variadic: true)]),
            CommandSpec("smembers", summary: "List a set's members.", arguments: [key], options: [json]),
        ],
        exclusive: [["ns", "shared"]])

    /// A parser for the table above.
    public static let parser = ArgumentParser(spec)
}
