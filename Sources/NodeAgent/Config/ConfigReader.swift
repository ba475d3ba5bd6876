import ClusterCore
import Foundation

/// Collects issues while a config is decoded, so that every problem is reported at once.
final class ConfigIssueSink {
    let file: String
    private(set) var issues: [ConfigIssue] = []

    init(file: String) { self.file = file }

    func add(_ mark: Mark, _ path: String, _ message: String, hint: String? = nil) {
        issues.append(ConfigIssue(file: file, mark: mark, path: path, message: message, hint: hint))
    }

    func add(_ issue: ConfigIssue) { issues.append(issue) }
}

/// Reads the fields of one mapping: typed getters that record an issue (at the field's key) and
/// return nil when a value is the wrong type. Unknown keys are issues with a did-you-mean hint.
struct ConfigFieldReader {
    let mark: Mark
    let path: String
    let sink: ConfigIssueSink
    let entries: [YAMLEntry]
    /// Resolves relative paths written in the file (not those from environment overrides).
    let baseDirectory: String?

    /// nil (with an issue) when `node` is not a mapping; a null node reads as an empty mapping.
    init?(_ node: YAMLNode, path: String, sink: ConfigIssueSink, known: [String], baseDirectory: String?) {
        self.mark = node.mark
        self.path = path
        self.sink = sink
        self.baseDirectory = baseDirectory
        switch node.content {
        case .mapping(let e):
            entries = e
        case .scalar(let s) where s.style.isPlain && YAMLCoreSchema.isNull(s.value) && s.tag == nil:
            entries = []
        default:
            sink.add(node.mark, path, "expected a mapping, got \(node.kindDescription)")
            return nil
        }
        guard !known.isEmpty else { return }
        for e in entries where !known.contains(e.key) {
            sink.add(e.keyMark, ConfigPath.join(path, e.key), "unknown key '\(e.key)'", hint: ConfigSuggest.hint(e.key, in: known))
        }
    }

    func sub(_ key: String) -> String { ConfigPath.join(path, key) }

    func entry(_ key: String) -> YAMLEntry? {
        guard let e = entries.first(where: { $0.key == key }) else { return nil }
        if let s = e.value.scalar, s.style.isPlain, s.tag == nil, YAMLCoreSchema.isNull(s.value) { return nil }
        return e
    }

    func fail(_ e: YAMLEntry, _ message: String, hint: String? = nil) {
        sink.add(e.keyMark, sub(e.key), message, hint: hint)
    }

    func json(_ e: YAMLEntry) -> JSONValue? {
        do throws(YAMLError) {
            return try e.value.toJSON()
        } catch {
            sink.add(error.mark, sub(e.key), error.problem)
            return nil
        }
    }

    /// Text of a scalar; numbers and booleans are taken as written.
    func string(_ key: String) -> String? {
        guard let e = entry(key) else { return nil }
        guard let s = e.value.scalar else {
            fail(e, "expected a string, got \(e.value.kindDescription)")
            return nil
        }
        return s.value
    }

    func nonEmptyString(_ key: String) -> String? {
        guard let s = string(key) else { return nil }
        if s.isEmpty, let e = entry(key) { fail(e, "must not be empty"); return nil }
        return s
    }

    /// A filesystem path; relative ones written in the file are resolved against its directory.
    func filePath(_ key: String) -> String? {
        guard let p = nonEmptyString(key), let e = entry(key) else { return nil }
        guard let base = baseDirectory, e.value.mark.source == nil, !p.hasPrefix("/") else { return p }
        return URL(fileURLWithPath: base).appendingPathComponent(p).standardizedFileURL.path
    }

    func int(_ key: String, min: Int = Int.min) -> Int? {
        guard let e = entry(key) else { return nil }
        guard let v = json(e) else { return nil }
        guard let i = v.intValue else {
            fail(e, "expected an integer, got \(describe(e.value))")
            return nil
        }
        if i < min {
            fail(e, min == 1 ? "must be a positive integer, got \(i)" : "must be at least \(min), got \(i)")
            return nil
        }
        return i
    }

    func double(_ key: String, min: Double) -> Double? {
        guard let e = entry(key) else { return nil }
        guard let v = json(e) else { return nil }
        guard let d = v.doubleValue else {
            fail(e, "expected a number, got \(describe(e.value))")
            return nil
        }
        if d < min { fail(e, "must be at least \(min), got \(d)"); return nil }
        return d
    }

    func bool(_ key: String) -> Bool? {
        guard let e = entry(key) else { return nil }
        guard let v = json(e) else { return nil }
        guard let b = v.boolValue else {
            fail(e, "expected true or false, got \(describe(e.value))")
            return nil
        }
        return b
    }

    /// A duration: "250ms", "2s", "1m", or a number of milliseconds.
    func duration(_ key: String, positive: Bool = false) -> Duration? {
        guard let e = entry(key) else { return nil }
        guard let s = e.value.scalar else {
            fail(e, "expected a duration, got \(e.value.kindDescription)", hint: "write e.g. \"250ms\", \"2s\", \"1m\" or a number of milliseconds")
            return nil
        }
        guard let d = ConfigDuration.parse(s.value) else {
            fail(e, "'\(s.value)' is not a duration", hint: "write e.g. \"250ms\", \"2s\", \"1m\" or a number of milliseconds")
            return nil
        }
        if positive, d <= .zero { fail(e, "must be longer than zero"); return nil }
        return d
    }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type, noun: String) -> E? where E.RawValue == String {
        guard let e = entry(key) else { return nil }
        let names = E.allCases.map(\.rawValue)
        guard let s = e.value.scalar else {
            fail(e, "expected one of \(names.joined(separator: ", ")), got \(e.value.kindDescription)")
            return nil
        }
        guard let v = E(rawValue: s.value) else {
            fail(e, "unknown \(noun) '\(s.value)'", hint: ConfigSuggest.hint(s.value, in: names))
            return nil
        }
        return v
    }

    /// A list of strings; each bad element is its own issue at the element.
    func stringList(_ key: String) -> [String]? {
        guard let e = entries.first(where: { $0.key == key }) else { return nil }
        if entry(key) == nil { return [] }
        guard let items = e.value.sequence else {
            fail(e, "expected a list, got \(e.value.kindDescription)")
            return nil
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard let s = item.scalar, !(s.style.isPlain && YAMLCoreSchema.isNull(s.value)) else {
                sink.add(item.mark, "\(sub(key))[\(i)]", "expected a string, got \(item.kindDescription)")
                continue
            }
            out.append(s.value)
        }
        return out
    }

    func child(_ key: String, known: [String]) -> ConfigFieldReader? {
        guard let e = entries.first(where: { $0.key == key }) else { return nil }
        return ConfigFieldReader(e.value, path: sub(key), sink: sink, known: known, baseDirectory: baseDirectory)
    }

    func describe(_ node: YAMLNode) -> String {
        if let s = node.scalar { return "'\(s.value)'" }
        return node.kindDescription
    }
}
