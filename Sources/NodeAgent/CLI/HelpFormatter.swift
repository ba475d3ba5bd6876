/// Usage lines and `--help` text, generated from the specs so they never drift from the parser.
extension ArgumentParser {
    /// Specs from the root down to the command at `path` (stops at the first unknown name).
    public func chain(for path: [String]) -> [CommandSpec] {
        var chain = [root]
        for name in path {
            guard let sub = chain[chain.count - 1].subcommand(name) else { break }
            chain.append(sub)
        }
        return chain
    }

    /// The short usage for the command at `path`.
    public func usage(for path: [String]) -> String { usage(for: chain(for: path)) }

    func usage(for chain: [CommandSpec]) -> String {
        let names = chain.map(\.name).joined(separator: " ")
        return "usage: \(synopsis(chain))\nRun '\(names) --help' for more."
    }

    func synopsis(_ chain: [CommandSpec]) -> String {
        let command = chain[chain.count - 1]
        var parts = [chain.map(\.name).joined(separator: " ")]
        if !command.subcommands.isEmpty {
            parts.append("<command>")
        }
        for o in command.options where o.required {
            parts.append("--\(o.name) \(o.valueName ?? "")")
        }
        parts.append("[options]")
        for a in command.arguments {
            var s = a.name
            if a.variadic { s += "..." }
            parts.append(a.optional || a.defaultValue != nil ? "[\(s)]" : s)
        }
        return parts.joined(separator: " ")
    }

    /// Full help for the command at `path`: summary, usage, arguments, options, subcommands.
    public func help(for path: [String]) -> String {
        let chain = chain(for: path)
        let command = chain[chain.count - 1]
        var out = chain.count == 1 ? "\(command.name) - \(command.summary)\n" : "\(chain.map(\.name).joined(separator: " ")) - \(command.summary)\n"
        out += "\nusage: \(synopsis(chain))\n"
        if let d = command.discussion { out += "\n\(d)\n" }
        if !command.arguments.isEmpty {
            out += "\narguments:\n"
            out += table(command.arguments.map { a in
                var help = a.help
                if let d = a.defaultValue {
                    help = (help.hasSuffix(".") ? String(help.dropLast()) : help) + " (default: \(d))."
                }
                return (a.variadic ? a.name + "..." : a.name, help)
            })
        }
        if !command.subcommands.isEmpty {
            out += "\ncommands:\n"
            out += table(command.subcommands.map { ($0.name, $0.summary) })
        }
        // A group's options (memory --ns) belong to each of its commands; the program's are global.
        let own = chain.count == 1 ? root.options : chain.dropFirst().flatMap(\.options)
        out += "\noptions:\n"
        out += table(own.map(row) + [("-h, --help", "Show this help.")])
        let inherited = chain.count > 1 ? root.options : []
        if !inherited.isEmpty {
            out += "\nglobal options:\n"
            out += table(inherited.map(row))
        }
        if !command.subcommands.isEmpty {
            out += "\nRun '\(chain.map(\.name).joined(separator: " ")) <command> --help' for a command's options.\n"
        }
        return out
    }

    func row(_ o: OptionSpec) -> (String, String) {
        var left = o.short.map { "-\($0), " } ?? ""
        left += "--\(o.name)"
        if let v = o.valueName { left += " \(v)" }
        var notes: [String] = []
        if o.required { notes.append("required") }
        if o.repeated { notes.append("repeatable") }
        if let e = o.env { notes.append("env: \(e)") }
        if let d = o.defaultValue { notes.append("default: \(d)") }
        if case .choice(let words) = o.kind { notes.append("one of: \(words.joined(separator: ", "))") }
        guard !notes.isEmpty else { return (left, o.help) }
        let sentence = o.help.hasSuffix(".") ? String(o.help.dropLast()) : o.help
        return (left, "\(sentence) (\(notes.joined(separator: "; "))).")
    }

    func table(_ rows: [(String, String)]) -> String {
        let width = min(28, (rows.map(\.0.count).max() ?? 0) + 2)
        var out = ""
        for (l, r) in rows {
            if l.count + 2 > width {
                out += "  \(l)\n" + String(repeating: " ", count: width + 2) + r + "\n"
            } else {
                out += "  " + l + String(repeating: " ", count: width - l.count) + r + "\n"
            }
        }
        return out
    }
}
