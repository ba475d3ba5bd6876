/// `start`: runs the node in the foreground until SIGINT/SIGTERM (the daemon is `NodeDaemon`).
enum StartCommand {
    static func run(_ c: CommandContext) async -> Int32 {
        c.output.writeError("error: start: the node daemon is not built into this binary yet\n")
        return ExitCode.failure
    }
}
