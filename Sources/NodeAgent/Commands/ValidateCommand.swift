/// `validate [FILE]`: every problem of a config file, one per line on stderr (exit 1), or "ok".
enum ValidateCommand {
    static func run(_ c: CommandContext) -> Int32 {
        let file = c.command.argument("FILE") ?? "agentvm.yml"
        do throws(ConfigErrors) {
            _ = try NodeConfig.load(path: c.resolve(file), environment: c.environment)
            c.print("ok")
            return ExitCode.success
        } catch {
            // Name the file as the user typed it, not as resolved.
            let resolved = c.resolve(file)
            for issue in error.issues {
                var shown = issue
                if shown.file == resolved { shown.file = file }
                c.output.writeError(shown.description + "\n")
            }
            let n = error.issues.count
            c.output.writeError("\(file): \(n) problem\(n == 1 ? "" : "s")\n")
            return ExitCode.failure
        }
    }
}
