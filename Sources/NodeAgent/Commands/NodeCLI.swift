import Foundation

/// The `agentvm-node` program: parses the command line with `NodeCommands.parser` and runs the
/// command. Exit codes: 0 success, 1 operation/API failure, 2 usage error (docs/cli.md).
public enum NodeCLI {
    /// Runs one command line (`arguments` without the program name) and returns its exit code.
    public static func run(_ arguments: [String],
                           environment: [String: String] = ProcessInfo.processInfo.environment,
                           output: any CLIOutput = StandardOutput(),
                           currentDirectory: String = FileManager.default.currentDirectoryPath) async -> Int32 {
        let parsed: ParsedCommand
        do throws(UsageError) {
            switch try NodeCommands.parser.parse(arguments, environment: environment) {
            case .help(let text):
                output.write(text.hasSuffix("\n") ? text : text + "\n")
                return ExitCode.success
            case .command(let command):
                parsed = command
            }
        } catch {
            output.writeError(error.description + "\n")
            return ExitCode.usage
        }
        let api = resolveAPI(arguments, parsed: parsed, environment: environment, currentDirectory: currentDirectory)
        let context = CommandContext(command: parsed, output: output, environment: environment,
                                     currentDirectory: currentDirectory, api: api)
        do {
            return try await dispatch(context)
        } catch let error as CommandError {
            output.writeError("error: \(error.message)\n")
            if error.exitCode == ExitCode.usage {
                output.writeError("\n" + NodeCommands.parser.usage(for: parsed.path) + "\n")
            }
            return error.exitCode
        } catch {
            output.writeError("error: \(error)\n")
            return ExitCode.failure
        }
    }

    static func dispatch(_ c: CommandContext) async throws -> Int32 {
        switch c.command.command {
        case "init": try InitCommand.run(c)
        case "start": return await StartCommand.run(c)
        case "validate": return ValidateCommand.run(c)
        case "agents": try await InfoCommands.agents(c)
        case "stats": try await InfoCommands.stats(c)
        case "members": try await InfoCommands.members(c)
        case "spawn": try await ProcessCommands.spawn(c)
        case "ps": try await ProcessCommands.ps(c)
        case "pause": try await ProcessCommands.transition(c, "pause")
        case "resume": try await ProcessCommands.transition(c, "resume")
        case "kill": try await ProcessCommands.transition(c, "terminate")
        case "exec": try await ProcessCommands.exec(c)
        case "send": try await ProcessCommands.send(c)
        case "publish": try await ProcessCommands.publish(c)
        case "logs": try await LogsCommand.run(c)
        case "checkpoint": try await CheckpointCommands.checkpoint(c)
        case "restore": try await CheckpointCommands.restore(c)
        case let name where c.command.path.first == "memory": try await MemoryCommands.run(c, String(name.dropFirst("memory ".count)))
        default: throw CommandError("command '\(c.command.command)' is not implemented", exitCode: ExitCode.usage)
        }
        return ExitCode.success
    }

    /// The API the client commands talk to: `--api`, else `AGENTVM_API`, else the `api` that a
    /// node running from this directory wrote to `./.agentvm/node.json`, else 127.0.0.1:7070.
    public static func resolveAPI(_ arguments: [String], parsed: ParsedCommand, environment: [String: String],
                                  currentDirectory: String) -> String {
        let explicit = arguments.contains { $0 == "--api" || $0.hasPrefix("--api=") }
            || !(environment["AGENTVM_API"] ?? "").isEmpty
        if explicit, let api = parsed.option("api") { return api }
        let file = URL(fileURLWithPath: currentDirectory).appendingPathComponent(".agentvm/node.json")
        if let data = FileManager.default.contents(atPath: file.path),
           let api = (try? JSONValue.parse(data))?["api"]?.stringValue, !api.isEmpty {
            return api
        }
        return parsed.option("api") ?? NodeCommands.defaultAPI
    }
}
