import Foundation

/// `init [DIR] [--force]`: a commented agentvm.yml (`ConfigTemplate`) plus the example exec agent.
/// Refuses to overwrite an existing agentvm.yml unless `--force`.
enum InitCommand {
    static func run(_ c: CommandContext) throws {
        let dir = c.resolve(c.command.argument("DIR") ?? ".")
        let shown = c.command.argument("DIR") ?? "."
        let fm = FileManager.default
        let config = URL(fileURLWithPath: dir).appendingPathComponent(ConfigTemplate.fileName)
        let agent = URL(fileURLWithPath: dir).appendingPathComponent(InitFiles.echoAgentPath)
        let force = c.command.flag("force")
        if fm.fileExists(atPath: config.path), !force {
            throw CommandError("\(display(shown, ConfigTemplate.fileName)) already exists (use --force to overwrite it)")
        }
        do {
            try fm.createDirectory(at: agent.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(ConfigTemplate.text.utf8).write(to: config, options: .atomic)
            c.print("wrote \(display(shown, ConfigTemplate.fileName))")
            if force || !fm.fileExists(atPath: agent.path) {
                try Data(InitFiles.echoAgent.utf8).write(to: agent, options: .atomic)
                try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: agent.path)
                c.print("wrote \(display(shown, InitFiles.echoAgentPath))")
            }
        } catch {
            throw CommandError("cannot write into \(shown): \(error.localizedDescription)")
        }
        c.print("next: agentvm-node validate \(display(shown, ConfigTemplate.fileName)) && agentvm-node start --config \(display(shown, ConfigTemplate.fileName))")
    }

    static func display(_ dir: String, _ file: String) -> String {
        dir == "." ? file : (dir.hasSuffix("/") ? dir + file : dir + "/" + file)
    }
}
