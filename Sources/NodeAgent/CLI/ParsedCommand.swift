import ClusterCore

/// A successfully parsed command line: which command, and its values. Values are checked
/// against their `ArgumentValueKind`, so the typed getters below only fail when asked for the wrong kind.
public struct ParsedCommand: Sendable, Hashable {
    /// Command names from the top, e.g. ["memory", "get"].
    public var path: [String]
    /// Positional values by argument name (variadic ones hold several).
    public var arguments: [String: [String]]
    /// Option values by option name, from the command line, the environment or the default.
    public var options: [String: [String]]
    /// Flags that were given.
    public var flags: Set<String>

    public init(path: [String], arguments: [String: [String]] = [:], options: [String: [String]] = [:], flags: Set<String> = []) {
        self.path = path
        self.arguments = arguments
        self.options = options
        self.flags = flags
    }

    /// "memory get".
    public var command: String { path.joined(separator: " ") }

    /// The value of positional argument `name`.
    public func argument(_ name: String) -> String? { arguments[name]?.first }
    /// Every value of a variadic argument.
    public func argumentList(_ name: String) -> [String] { arguments[name] ?? [] }
    /// The (last) value of option `name`.
    public func option(_ name: String) -> String? { options[name]?.last }
    /// Every value of a repeated option.
    public func optionList(_ name: String) -> [String] { options[name] ?? [] }
    /// Whether flag `name` was given.
    public func flag(_ name: String) -> Bool { flags.contains(name) }

    /// An integer option or argument.
    public func int(_ name: String) -> Int? { (option(name) ?? argument(name)).flatMap { Int($0) } }
    /// A JSON option or argument.
    public func json(_ name: String) -> JSONValue? { (option(name) ?? argument(name)).flatMap { try? JSONValue.parse($0) } }
    /// A duration option or argument.
    public func duration(_ name: String) -> Duration? { (option(name) ?? argument(name)).flatMap { ConfigDuration.parse($0) } }
}

/// What the parser hands back: a command to run, or help text to print (exit 0).
public enum ParseOutcome: Sendable, Hashable {
    case command(ParsedCommand)
    case help(String)
}

/// A command line that cannot be run: names the bad argument and carries the command's usage.
public struct UsageError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    /// The offending word as given (`--cuont`, `abc`), when there is one.
    public var argument: String?
    /// Usage of the command being parsed, to print under the message.
    public var usage: String

    public init(_ message: String, argument: String? = nil, usage: String) {
        self.message = message
        self.argument = argument
        self.usage = usage
    }

    public var description: String { "error: \(message)\n\n\(usage)" }
}
