import Foundation

/// Durations in config: `"250ms"`, `"2s"`, `"1m"`, `"1h"`, compounds like `"1m30s"`, fractions
/// like `"1.5s"`, or a plain number meaning milliseconds.
public enum ConfigDuration {
    /// Parses a duration text; nil when it is not one.
    public static func parse(_ text: String) -> Duration? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty else { return nil }
        if let ms = Double(t) { return ms.isFinite && ms >= 0 && ms <= maxMilliseconds ? milliseconds(ms) : nil }
        var total = 0.0
        var rest = Substring(t)
        while !rest.isEmpty {
            let num = rest.prefix { $0.isNumber || $0 == "." }
            guard !num.isEmpty, let value = Double(num) else { return nil }
            rest = rest.dropFirst(num.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1e-6
            case "us", "µs": scale = 1e-3
            case "ms": scale = 1
            case "s": scale = 1_000
            case "m": scale = 60_000
            case "h": scale = 3_600_000
            default: return nil
            }
            total += value * scale
        }
        guard total.isFinite, total <= maxMilliseconds else { return nil }
        return milliseconds(total)
    }

    /// Longest duration accepted, in milliseconds: 9e12 ms is 9e18 ns (about 285 years), under
    /// `Int64.max`, so `milliseconds(_:)` cannot trap on anything `parse` lets through.
    static let maxMilliseconds = 9e12

    static func milliseconds(_ ms: Double) -> Duration {
        .nanoseconds(Int64((ms * 1_000_000).rounded()))
    }

    /// A compact text for a duration ("250ms", "2s", "1m30s") that `parse` reads back.
    public static func format(_ d: Duration) -> String {
        let ns = d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
        if ns % 1_000_000 != 0 { return "\(Double(ns) / 1_000_000)ms" }
        let ms = ns / 1_000_000
        if ms == 0 { return "0ms" }
        if ms % 1000 != 0 { return "\(ms)ms" }
        let s = ms / 1000
        if s % 60 != 0 || s < 60 { return s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s" }
        return s % 3600 == 0 ? "\(s / 3600)h" : "\(s / 60)m"
    }
}
