/// One thing wrong with a config: where (file:line:column), which field, what, and a hint.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var mark: Mark
    /// Dotted field path, e.g. `agents.writer.limits.timeout` (empty for the whole document).
    public var path: String
    public var message: String
    public var hint: String?

    public init(file: String, mark: Mark, path: String, message: String, hint: String? = nil) {
        self.file = file
        self.mark = mark
        self.path = path
        self.message = message
        self.hint = hint
    }

    /// `agentvm.yml:12:5: agents.writer.handler: unknown handler 'ecko' (hint: did you mean 'echo'?)`;
    /// an issue from an environment override names the variable instead of the file.
    public var description: String {
        var s: String
        if let source = mark.source {
            s = "\(source)"
        } else {
            s = "\(file):\(mark.line):\(mark.column)"
        }
        if !path.isEmpty { s += ": \(path)" }
        s += ": \(message)"
        if let hint { s += " (hint: \(hint))" }
        return s
    }
}

/// Every issue found in a config, in source order. Thrown by `NodeConfig.load`.
public struct ConfigErrors: Error, Sendable, Hashable, CustomStringConvertible {
    public var issues: [ConfigIssue]

    public init(_ issues: [ConfigIssue]) { self.issues = issues }

    /// One issue per line.
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}
