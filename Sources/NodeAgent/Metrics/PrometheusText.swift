/// Builds the Prometheus text exposition format (version 0.0.4) for `/metrics`.
public struct PrometheusText: Sendable {
    /// A metric's kind, as the `# TYPE` line names it.
    public enum Kind: String, Sendable { case counter, gauge }

    private var out = ""
    private var declared = Set<String>()

    public init() {}

    /// Adds one sample; the `# HELP`/`# TYPE` lines are written the first time a name appears.
    public mutating func add(_ name: String, _ kind: Kind, help: String, value: Double,
                             labels: [(String, String)] = []) {
        if declared.insert(name).inserted {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
        }
        out += name
        if !labels.isEmpty {
            out += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        out += " " + Self.format(value) + "\n"
    }

    /// The exposition text.
    public var text: String { out }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v.rounded() == v, abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}
