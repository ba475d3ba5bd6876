/// NATS subject rules, shared by every transport so the in-process one behaves like the real server.
public enum Subject {
    /// A subject a message may be published on: non-empty tokens, no wildcards, no whitespace.
    public static func isValidPublish(_ subject: String) -> Bool {
        guard isWellFormed(subject) else { return false }
        return !subject.split(separator: ".", omittingEmptySubsequences: false).contains { $0 == "*" || $0 == ">" }
    }

    /// A subject a subscription may listen on: `*` for one token, `>` only as the last token.
    public static func isValidFilter(_ subject: String) -> Bool {
        guard isWellFormed(subject) else { return false }
        let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        for (i, t) in tokens.enumerated() where t == ">" && i != tokens.count - 1 { return false }
        return true
    }

    /// Whether `subject` (a concrete subject) matches `filter` (which may hold wildcards).
    public static func matches(filter: String, subject: String) -> Bool {
        if filter == subject { return true }
        var f = filter.utf8[...]
        var s = subject.utf8[...]
        while true {
            let fTok = nextToken(&f)
            let sTok = nextToken(&s)
            guard let ft = fTok else { return sTok == nil }
            if ft.elementsEqual(">".utf8) { return sTok != nil }
            guard let st = sTok else { return false }
            if !ft.elementsEqual("*".utf8) && !ft.elementsEqual(st) { return false }
        }
    }

    private static func nextToken(_ rest: inout Substring.UTF8View) -> Substring.UTF8View? {
        if rest.isEmpty { return nil }
        if let dot = rest.firstIndex(of: UInt8(ascii: ".")) {
            let tok = rest[rest.startIndex..<dot]
            rest = rest[rest.index(after: dot)...]
            return tok
        }
        let tok = rest
        rest = rest[rest.endIndex...]
        return tok
    }

    private static func isWellFormed(_ subject: String) -> Bool {
        if subject.isEmpty { return false }
        for b in subject.utf8 where b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { return false }
        return !subject.split(separator: ".", omittingEmptySubsequences: false).contains { $0.isEmpty }
    }
}
