import ClusterCore

/// Parses a command line against a `CommandSpec` tree. Our own, small, no dependencies.
///
/// Rules: options may come before or after positionals; an ancestor's options (the program's
/// global ones) are accepted anywhere below it; `--name=value` and `--name value` both work;
/// `--` ends options; `-h`/`--help` anywhere, or `help COMMAND`, asks for help.
public struct ArgumentParser: Sendable {
    public let root: CommandSpec

    public init(_ root: CommandSpec) { self.root = root }

    /// Parses `args` (without the program name). `environment` feeds options' env fallbacks.
    public func parse(_ args: [String], environment: [String: String] = [:]) throws(UsageError) -> ParseOutcome {
        var chain: [CommandSpec] = [root]
        var positionals: [(String, Int)] = []
        var given: [String: [String]] = [:]
        var flags: Set<String> = []
        var wantsHelp = false
        var optionsEnded = false
        var firstError: UsageError?
        var i = 0

        func fail(_ e: UsageError) { if firstError == nil { firstError = e } }

        if args.first == "help" {
            var path: [String] = []
            var spec = root
            for word in args.dropFirst() {
                guard let sub = spec.subcommand(word) else {
                    throw UsageError("unknown command '\(word)'" + Self.didYouMean(word, spec.subcommands.map(\.name)),
                                     argument: word, usage: usage(for: path))
                }
                spec = sub
                path.append(word)
            }
            return .help(help(for: path))
        }

        while i < args.count {
            let word = args[i]
            i += 1
            var current: CommandSpec { chain[chain.count - 1] }
            if !optionsEnded, word == "--" { optionsEnded = true; continue }
            if !optionsEnded, word == "--help" || word == "-h" { wantsHelp = true; continue }
            if !optionsEnded, word.hasPrefix("-"), word.count > 1, !Self.isNegativeNumber(word, chain) {
                var name: String
                var inline: String?
                let spec: OptionSpec?
                if word.hasPrefix("--") {
                    name = String(word.dropFirst(2))
                    if let eq = name.firstIndex(of: "=") {
                        inline = String(name[name.index(after: eq)...])
                        name = String(name[..<eq])
                    }
                    spec = Self.option(named: name, in: chain)
                } else {
                    let c = word.dropFirst()
                    spec = c.count == 1 ? Self.option(short: c[c.startIndex], in: chain) : nil
                }
                guard let spec else {
                    let all = chain.flatMap(\.options).map { "--" + $0.name } + ["--help"]
                    fail(UsageError("unknown option '\(word)'" + Self.didYouMean(word.split(separator: "=").first.map(String.init) ?? word, all),
                                    argument: word, usage: usage(for: chain)))
                    continue
                }
                if spec.isFlag {
                    if inline != nil {
                        fail(UsageError("option --\(spec.name) takes no value", argument: word, usage: usage(for: chain)))
                    }
                    flags.insert(spec.name)
                    continue
                }
                let value: String
                if let inline {
                    value = inline
                } else if i < args.count {
                    value = args[i]
                    i += 1
                } else {
                    fail(UsageError("option --\(spec.name) needs a value (\(spec.valueName ?? "VALUE"))", argument: word, usage: usage(for: chain)))
                    continue
                }
                if !spec.repeated, given[spec.name] != nil {
                    fail(UsageError("option --\(spec.name) given more than once", argument: word, usage: usage(for: chain)))
                }
                if let problem = Self.check(value, spec.kind) {
                    fail(UsageError("invalid value '\(value)' for --\(spec.name): \(problem)", argument: value, usage: usage(for: chain)))
                }
                given[spec.name, default: []].append(value)
                continue
            }
            if !current.subcommands.isEmpty, positionals.isEmpty {
                guard let sub = current.subcommand(word) else {
                    fail(UsageError("unknown command '\(word)'" + Self.didYouMean(word, current.subcommands.map(\.name)),
                                    argument: word, usage: usage(for: chain)))
                    // Later words cannot be interpreted without the command.
                    break
                }
                chain.append(sub)
                continue
            }
            positionals.append((word, i - 1))
        }

        if wantsHelp { return .help(help(for: chain.dropFirst().map(\.name))) }
        if let firstError { throw firstError }
        let command = chain[chain.count - 1]
        if !command.subcommands.isEmpty {
            let names = command.subcommands.map(\.name).joined(separator: ", ")
            throw UsageError(chain.count == 1 ? "missing command (one of: \(names))" : "missing subcommand (one of: \(names))",
                             usage: usage(for: chain))
        }

        var result = ParsedCommand(path: chain.dropFirst().map(\.name), flags: flags)
        var rest = positionals[...]
        for arg in command.arguments {
            if arg.variadic {
                if rest.isEmpty, !arg.optional {
                    throw UsageError("missing argument \(arg.name)", usage: usage(for: chain))
                }
                for (value, _) in rest {
                    if let problem = Self.check(value, arg.kind) {
                        throw UsageError("invalid \(arg.name) '\(value)': \(problem)", argument: value, usage: usage(for: chain))
                    }
                }
                result.arguments[arg.name] = rest.map(\.0)
                rest = []
                continue
            }
            guard let (value, _) = rest.first else {
                if let d = arg.defaultValue {
                    result.arguments[arg.name] = [d]
                } else if !arg.optional {
                    throw UsageError("missing argument \(arg.name)", usage: usage(for: chain))
                }
                continue
            }
            rest = rest.dropFirst()
            if let problem = Self.check(value, arg.kind) {
                throw UsageError("invalid \(arg.name) '\(value)': \(problem)", argument: value, usage: usage(for: chain))
            }
            result.arguments[arg.name] = [value]
        }
        if let (extra, _) = rest.first {
            throw UsageError("unexpected argument '\(extra)'", argument: extra, usage: usage(for: chain))
        }

        for spec in chain.flatMap(\.options) where !spec.isFlag {
            if let values = given[spec.name] {
                result.options[spec.name] = values
            } else if let env = spec.env, let value = environment[env], !value.isEmpty {
                if let problem = Self.check(value, spec.kind) {
                    throw UsageError("invalid value '\(value)' for --\(spec.name) (from \(env)): \(problem)", argument: value, usage: usage(for: chain))
                }
                result.options[spec.name] = spec.repeated ? value.split(separator: ",").map(String.init) : [value]
            } else if let d = spec.defaultValue {
                result.options[spec.name] = [d]
            } else if spec.required {
                throw UsageError("missing required option --\(spec.name) \(spec.valueName ?? "")", usage: usage(for: chain))
            }
        }
        for group in chain.flatMap(\.exclusive) {
            let used = group.filter { given[$0] != nil || flags.contains($0) }
            if used.count > 1 {
                throw UsageError(used.map { "--" + $0 }.joined(separator: " and ") + " cannot be used together",
                                 argument: "--" + used[1], usage: usage(for: chain))
            }
        }
        return .command(result)
    }

    static func option(named name: String, in chain: [CommandSpec]) -> OptionSpec? {
        for c in chain.reversed() { if let o = c.options.first(where: { $0.name == name }) { return o } }
        return nil
    }

    static func option(short: Character, in chain: [CommandSpec]) -> OptionSpec? {
        for c in chain.reversed() { if let o = c.options.first(where: { $0.short == short }) { return o } }
        return nil
    }

    /// `-5` is a value unless some option is literally `-5`.
    static func isNegativeNumber(_ word: String, _ chain: [CommandSpec]) -> Bool {
        guard Double(word) != nil, let c = word.dropFirst().first else { return false }
        return option(short: c, in: chain) == nil
    }

    /// Why `value` is not of `kind`, or nil.
    static func check(_ value: String, _ kind: ArgumentValueKind) -> String? {
        switch kind {
        case .string:
            return nil
        case .integer(let min):
            guard let n = Int(value) else { return "expected an integer" }
            return n < min ? "must be at least \(min)" : nil
        case .number:
            guard let d = Double(value), d.isFinite else { return "expected a number" }
            return nil
        case .json:
            do {
                _ = try JSONValue.parse(value)
                return nil
            } catch {
                return "not valid JSON (\(error))"
            }
        case .duration:
            return ConfigDuration.parse(value) == nil ? "expected a duration like 250ms, 2s, 1m" : nil
        case .choice(let words):
            return words.contains(value) ? nil : "expected one of: \(words.joined(separator: ", "))" + didYouMean(value, words)
        }
    }

    static func didYouMean(_ word: String, _ candidates: [String]) -> String {
        ConfigSuggest.closest(word, in: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }
}
