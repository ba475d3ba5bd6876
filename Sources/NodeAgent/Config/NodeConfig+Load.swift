import Foundation

extension NodeConfig {
    /// Handlers every node has; a node may register more and pass them to `load`.
    public static let builtInHandlers = ["echo", "counter", "exec"]

    /// Reads, substitutes, overrides and validates agentvm.yml. Throws every issue at once.
    ///
    /// - Parameters:
    ///   - environment: the process environment, for `${VAR}` and `AGENTVM_*` overrides.
    ///   - handlers: handler names agents may use.
    ///   - knownTools: tool names `tools:` lists may use; nil accepts any name.
    public static func load(path: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            handlers: [String] = builtInHandlers,
                            knownTools: [String]? = nil) throws(ConfigErrors) -> NodeConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ConfigErrors([ConfigIssue(file: path, mark: Mark(line: 1, column: 1), path: "",
                                            message: exists ? "cannot read the file" : "no such file",
                                            hint: exists ? nil : "create one with 'agentvm-node init'")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigErrors([ConfigIssue(file: path, mark: Mark(line: 1, column: 1), path: "", message: "the file is not UTF-8 text")])
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        return try parse(text, file: path, baseDirectory: base, environment: environment, handlers: handlers, knownTools: knownTools)
    }

    /// `load` for text already in hand. `baseDirectory` resolves relative paths written in it
    /// (nil keeps them as written).
    public static func parse(_ text: String, file: String = "agentvm.yml", baseDirectory: String? = nil,
                             environment: [String: String] = [:],
                             handlers: [String] = builtInHandlers,
                             knownTools: [String]? = nil) throws(ConfigErrors) -> NodeConfig {
        let parsed: YAMLNode?
        do throws(YAMLError) {
            parsed = try YAMLParser.parse(text, file: file)
        } catch {
            throw ConfigErrors([ConfigIssue(file: file, mark: error.mark, path: "", message: error.problem)])
        }
        let sink = ConfigIssueSink(file: file)
        var root = parsed ?? YAMLNode(.mapping([]), mark: Mark(line: 1, column: 1))
        var issues: [ConfigIssue] = []
        if var entries = root.entries {
            // `env:` values substitute from the process environment only; every other value sees
            // `env:` with the process environment winning, so a deployment can override a default.
            var variables: [String: String] = [:]
            if let i = entries.firstIndex(where: { $0.key == "env" }) {
                entries[i].value = ConfigSubstitution.apply(entries[i].value, path: "env", variables: environment,
                                                            file: file, issues: &issues)
                for e in entries[i].value.entries ?? [] {
                    if let s = e.value.scalar { variables[e.key] = s.value }
                }
            }
            variables.merge(environment) { _, process in process }
            for i in entries.indices where entries[i].key != "env" {
                entries[i].value = ConfigSubstitution.apply(entries[i].value, path: entries[i].key, variables: variables,
                                                            file: file, issues: &issues)
            }
            root = YAMLNode(.mapping(entries), mark: root.mark)
        }
        root = ConfigOverrides.apply(root, environment: environment)
        for i in issues { sink.add(i) }
        let decoder = ConfigDecoder(sink: sink, handlers: handlers, knownTools: knownTools, baseDirectory: baseDirectory)
        var config = decoder.decode(root)
        config.file = file
        config.baseDirectory = baseDirectory
        let all = dedupe(sink.issues)
        if !all.isEmpty { throw ConfigErrors(all) }
        return config
    }

    /// Source order (overrides last), without repeats.
    static func dedupe(_ issues: [ConfigIssue]) -> [ConfigIssue] {
        var seen = Set<ConfigIssue>()
        let unique = issues.filter { seen.insert($0).inserted }
        return unique.enumerated().sorted { a, b in
            let ka = (a.element.mark.source == nil ? 0 : 1, a.element.mark.line, a.element.mark.column, a.offset)
            let kb = (b.element.mark.source == nil ? 0 : 1, b.element.mark.line, b.element.mark.column, b.offset)
            return ka < kb
        }.map(\.element)
    }
}
