/// `${VAR}` and `${VAR:-default}` in scalar values; `$${` writes a literal `${`.
/// Keys are never substituted. A substituted plain scalar is resolved again by the core
/// schema, so `maxProcesses: ${MAX}` with `MAX=50` is the number 50.
enum ConfigSubstitution {
    /// Substitutes every scalar value below `node`; unset variables without a default become
    /// issues naming the variable and the field.
    static func apply(_ node: YAMLNode, path: String, variables: [String: String], file: String,
                      issues: inout [ConfigIssue]) -> YAMLNode {
        switch node.content {
        case .scalar(var s):
            guard s.value.contains("$") else { return node }
            switch expand(s.value, variables: variables) {
            case .success(let v):
                s.value = v
                return YAMLNode(.scalar(s), mark: node.mark)
            case .failure(let f):
                issues.append(ConfigIssue(file: file, mark: node.mark, path: path, message: f.message, hint: f.hint))
                return node
            }
        case .sequence(let items):
            var out: [YAMLNode] = []
            for (i, item) in items.enumerated() {
                out.append(apply(item, path: "\(path)[\(i)]", variables: variables, file: file, issues: &issues))
            }
            return YAMLNode(.sequence(out), mark: node.mark)
        case .mapping(let entries):
            var out: [YAMLEntry] = []
            for e in entries {
                var e2 = e
                e2.value = apply(e.value, path: ConfigPath.join(path, e.key), variables: variables, file: file, issues: &issues)
                out.append(e2)
            }
            return YAMLNode(.mapping(out), mark: node.mark)
        }
    }

    struct Failure: Error {
        var message: String
        var hint: String?
    }

    /// Expands one text.
    static func expand(_ text: String, variables: [String: String]) -> Result<String, Failure> {
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == "$", text[i...].hasPrefix("$${") {
                out += "${"
                i = text.index(i, offsetBy: 3)
                continue
            }
            guard c == "$", text[i...].hasPrefix("${") else {
                out.append(c)
                i = text.index(after: i)
                continue
            }
            let bodyStart = text.index(i, offsetBy: 2)
            guard let close = text[bodyStart...].firstIndex(of: "}") else {
                return .failure(Failure(message: "unterminated '${' in '\(text)'", hint: "write '$${' for a literal '${'"))
            }
            let body = text[bodyStart..<close]
            var name = Substring(body)
            var fallback: Substring?
            if let r = body.range(of: ":-") {
                name = body[body.startIndex..<r.lowerBound]
                fallback = body[r.upperBound...]
            }
            guard isName(name) else {
                return .failure(Failure(message: "'${\(body)}' is not a variable reference",
                                        hint: "names are letters, digits and '_'; write '${NAME}' or '${NAME:-default}'"))
            }
            if let v = variables[String(name)], !(fallback != nil && v.isEmpty) {
                out += v
            } else if let fallback {
                out += fallback
            } else {
                return .failure(Failure(message: "environment variable '\(name)' is not set",
                                        hint: "set it, add it under 'env:', or give a default: ${\(name):-value}"))
            }
            i = text.index(after: close)
        }
        return .success(out)
    }

    static func isName(_ s: Substring) -> Bool {
        guard let f = s.first, f == "_" || (f.isASCII && f.isLetter) else { return false }
        return s.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }
}

/// Dotted field paths used in issues.
enum ConfigPath {
    static func join(_ base: String, _ key: String) -> String { base.isEmpty ? key : "\(base).\(key)" }
}
