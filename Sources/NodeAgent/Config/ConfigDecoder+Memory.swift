import ClusterCore

extension ConfigDecoder {
    /// `memory.replicated`: a list of namespace names, each checked at its own line. A name holds
    /// no `/` (replicated keys are `<namespace>/<key>`, so `a/b` + `c` and `a` + `b/c` would
    /// collide), does not start with `__` (reserved), fits `MemoryBus.maxKeyBytes`, and appears
    /// once. `shared` is accepted and changes nothing: it is always replicated.
    func decodeReplicated(_ m: ConfigFieldReader) -> [String] {
        guard let e = m.entry("replicated") else { return [] }
        guard let items = e.value.sequence else {
            m.fail(e, "expected a list of namespace names, got \(e.value.kindDescription)", hint: "e.g. replicated: [team, plans]")
            return []
        }
        var names: [String] = []
        for (i, item) in items.enumerated() {
            let path = "\(m.sub("replicated"))[\(i)]"
            guard let s = item.scalar, !(s.style.isPlain && YAMLCoreSchema.isNull(s.value)) else {
                sink.add(item.mark, path, "expected a namespace name, got \(item.kindDescription)")
                continue
            }
            let name = s.value
            if let problem = Self.replicatedNameProblem(name) {
                sink.add(item.mark, path, problem.message, hint: problem.hint)
            } else if names.contains(name) {
                sink.add(item.mark, path, "namespace '\(name)' is listed twice")
            } else {
                names.append(name)
            }
        }
        return names
    }

    /// Why `name` cannot be a replicated namespace, or nil.
    static func replicatedNameProblem(_ name: String) -> (message: String, hint: String?)? {
        if name.isEmpty { return ("a namespace name must not be empty", nil) }
        if name.utf8.count > MemoryBus.maxKeyBytes {
            return ("namespace name is longer than \(MemoryBus.maxKeyBytes) bytes", nil)
        }
        if name.contains("/") {
            return ("namespace '\(name)' contains '/'", "replicated keys are '<namespace>/<key>'; use '-', '_' or '.' instead")
        }
        if name.hasPrefix("__") { return ("namespace '\(name)' starts with '__', which is reserved", nil) }
        return nil
    }
}
