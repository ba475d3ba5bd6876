import Foundation

/// Human output: aligned tables and readable values.
enum TextTable {
    /// Columns separated by two spaces, padded to the widest cell; the last column is not padded.
    static func render(_ headers: [String], _ rows: [[String]]) -> String {
        let all = [headers] + rows
        var widths = Array(repeating: 0, count: headers.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        var out = ""
        for row in all {
            var line = ""
            for (i, cell) in row.enumerated() where i < widths.count {
                line += i == widths.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 2)
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}

/// JSON as the CLI prints it: pretty, with sorted keys, so output is stable and diffable.
enum JSONFormat {
    static func pretty(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let members) where !members.isEmpty:
            return "{\n" + members.keys.sorted().map { key in
                inner + JSONValue.string(key).jsonString + ": " + pretty(members[key] ?? .null, indent: inner)
            }.joined(separator: ",\n") + "\n\(indent)}"
        default:
            return value.jsonString
        }
    }

    /// A cell for a table: strings bare, null as "-", everything else as compact JSON.
    static func cell(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: return "-"
        case .string(let s)?: return s
        case let v?: return v.jsonString
        }
    }

    /// Leaves of an object as dotted paths, for `stats`: ("processesByState.running", 2).
    static func flatten(_ value: JSONValue, prefix: String = "") -> [(String, JSONValue)] {
        guard case .object(let o) = value, !o.isEmpty else { return [(prefix, value)] }
        return o.keys.sorted().flatMap { key in
            flatten(o[key] ?? .null, prefix: prefix.isEmpty ? key : "\(prefix).\(key)")
        }
    }
}
