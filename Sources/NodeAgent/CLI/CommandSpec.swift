/// What kind of value an option or argument takes; the parser checks it so that a bad value is
/// reported before any action runs.
public enum ArgumentValueKind: Sendable, Hashable {
    case string
    /// A whole number of at least `min`.
    case integer(min: Int)
    /// Any finite number, fractions and negatives included.
    case number
    /// JSON text (parsed by the action; the parser checks it is valid).
    case json
    /// A duration such as "250ms", "2s", "1m".
    case duration
    /// One of the listed words.
    case choice([String])
}

/// A named option: `--name VALUE` (or `--name=VALUE`), or a flag `--name` when `valueName` is nil.
public struct OptionSpec: Sendable, Hashable {
    public var name: String
    public var short: Character?
    /// Placeholder shown in help, e.g. "JSON"; nil makes a flag.
    public var valueName: String?
    public var kind: ArgumentValueKind
    public var help: String
    /// May be given more than once; every value is kept.
    public var repeated: Bool
    public var required: Bool
    /// Environment variable read when the option is not given.
    public var env: String?
    /// Value used when neither the option nor `env` is given (shown in help).
    public var defaultValue: String?

    public init(_ name: String, short: Character? = nil, value valueName: String? = nil, kind: ArgumentValueKind = .string,
                help: String, repeated: Bool = false, required: Bool = false, env: String? = nil, default defaultValue: String? = nil) {
        self.name = name
        self.short = short
        self.valueName = valueName
        self.kind = kind
        self.help = help
        self.repeated = repeated
        self.required = required
        self.env = env
        self.defaultValue = defaultValue
    }

    /// A flag (no value).
    public static func flag(_ name: String, short: Character? = nil, help: String) -> OptionSpec {
        OptionSpec(name, short: short, help: help)
    }

    public var isFlag: Bool { valueName == nil }
}

/// A positional argument.
public struct ArgumentSpec: Sendable, Hashable {
    public var name: String
    public var help: String
    public var kind: ArgumentValueKind
    public var optional: Bool
    /// Takes every remaining positional value (must be last).
    public var variadic: Bool
    public var defaultValue: String?

    public init(_ name: String, help: String, kind: ArgumentValueKind = .string, optional: Bool = false,
                variadic: Bool = false, default defaultValue: String? = nil) {
        self.name = name
        self.help = help
        self.kind = kind
        self.optional = optional
        self.variadic = variadic
        self.defaultValue = defaultValue
    }
}

/// A command: its arguments, options and subcommands. A command with subcommands is a group
/// (`memory get|set|...`); its options apply to all of them.
public struct CommandSpec: Sendable, Hashable {
    public var name: String
    public var summary: String
    /// Longer help text shown under the usage line.
    public var discussion: String?
    public var arguments: [ArgumentSpec]
    public var options: [OptionSpec]
    public var subcommands: [CommandSpec]
    /// Groups of options of which at most one may be given (`--ns` / `--shared`).
    public var exclusive: [[String]]

    public init(_ name: String, summary: String, discussion: String? = nil, arguments: [ArgumentSpec] = [],
                options: [OptionSpec] = [], subcommands: [CommandSpec] = [], exclusive: [[String]] = []) {
        self.name = name
        self.summary = summary
        self.discussion = discussion
        self.arguments = arguments
        self.options = options
        self.subcommands = subcommands
        self.exclusive = exclusive
    }

    public func subcommand(_ name: String) -> CommandSpec? { subcommands.first { $0.name == name } }
}
