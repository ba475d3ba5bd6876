import Foundation

/// What a command's action gets: its parsed line, where to write, and how to reach the node.
struct CommandContext: Sendable {
    var command: ParsedCommand
    var output: any CLIOutput
    var environment: [String: String]
    /// Relative paths (`init DIR`, `--out FILE`) resolve against this.
    var currentDirectory: String
    /// The node API to talk to, already resolved (see `NodeCLI.resolveAPI`).
    var api: String

    init(command: ParsedCommand, output: any CLIOutput, environment: [String: String], currentDirectory: String, api: String) {
        self.command = command
        self.output = output
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.api = api
    }

    /// The bearer token from `--token` or `AGENTVM_TOKEN`.
    var token: String? { command.option("token") }

    /// A client for `api`, with an optional longer timeout (for `exec --timeout`).
    func client(timeout: Duration = .seconds(30)) throws(APIError) -> APIClient {
        try APIClient(baseURL: api, token: token, timeout: timeout)
    }

    /// Prints one line on stdout.
    func print(_ line: String) { output.write(line.hasSuffix("\n") ? line : line + "\n") }

    /// Prints `value` as the CLI's stable JSON.
    func printJSON(_ value: JSONValue) { print(JSONFormat.pretty(value)) }

    /// Whether `--json` was given.
    var wantsJSON: Bool { command.flag("json") }

    /// An absolute path for `path` as the user typed it.
    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path == "~" || path.hasPrefix("~/") {
            return (NSString(string: path).expandingTildeInPath as String)
        }
        return URL(fileURLWithPath: currentDirectory).appendingPathComponent(path).standardizedFileURL.path
    }

    /// The required positional `name` (the parser guarantees it).
    func argument(_ name: String) throws(CommandError) -> String {
        guard let value = command.argument(name) else { throw CommandError("missing argument \(name)", exitCode: ExitCode.usage) }
        return value
    }

    /// A JSON positional or option (the parser checked it parses).
    func json(_ name: String) throws(CommandError) -> JSONValue? {
        guard let text = command.option(name) ?? command.argument(name) else { return nil }
        do {
            return try JSONValue.parse(text)
        } catch {
            throw CommandError("\(name): \(error)", exitCode: ExitCode.usage)
        }
    }
}
