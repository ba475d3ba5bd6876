/// `start`: runs the node in the foreground until SIGINT/SIGTERM (the daemon is `NodeDaemon`).
enum StartCommand {
    static func run(_ c: CommandContext) async -> Int32 {
        let o = c.command
        return await NodeDaemon.run(NodeStartOptions(
            configPath: o.option("config").map(c.resolve), dataDir: o.option("data").map(c.resolve), listen: o.option("listen"),
            nodeID: o.option("node-id"), token: o.option("token"), nats: o.optionList("nats"), cluster: o.option("cluster"),
            logLevel: o.option("log-level"), exitWithParent: o.flag("exit-with-parent")))
    }
}
