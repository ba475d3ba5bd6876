import CYAML
import Foundation

/// Builds a `YAMLNode` document from libyaml's event stream (`yaml_parser_parse`).
///
/// Rules on top of YAML: one document per file, mapping keys are scalars and unique, aliases
/// are resolved (`<<` merge keys included) and bounded so an alias bomb cannot exhaust memory.
public enum YAMLParser {
    /// Most nodes a document may expand to once aliases are resolved.
    public static let maxNodes = 1_000_000
    /// Deepest nesting of lists and mappings; deeper documents are refused before any recursion.
    public static let maxDepth = 256

    /// Parses YAML text; nil means an empty document (no content at all).
    public static func parse(_ text: String, file: String = "") throws(YAMLError) -> YAMLNode? {
        var bytes = Array(text.utf8)
        if bytes.isEmpty { bytes = [0x0A] }
        let result: Result<YAMLNode?, YAMLError> = bytes.withUnsafeBufferPointer { buf in
            var builder = YAMLDocumentBuilder(file: file)
            do throws(YAMLError) {
                return .success(try builder.run(buf))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Reads and parses a file. A missing or unreadable file is a `YAMLError` at 1:1.
    public static func parse(contentsOf path: String) throws(YAMLError) -> YAMLNode? {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw YAMLError(file: path, mark: Mark(line: 1, column: 1), problem: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw YAMLError(file: path, mark: Mark(line: 1, column: 1), problem: "the file is not UTF-8 text")
        }
        return try parse(text, file: path)
    }
}

private struct YAMLDocumentBuilder {
    enum Frame {
        case sequence(mark: Mark, anchor: String?, items: [YAMLNode])
        case mapping(mark: Mark, anchor: String?, entries: [YAMLEntry], merges: [YAMLNode], pendingKey: YAMLNode?)
    }

    let file: String
    var stack: [Frame] = []
    var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    var root: YAMLNode?
    var documents = 0
    var nodeCount = 0

    init(file: String) { self.file = file }

    func error(_ mark: Mark, _ problem: String) -> YAMLError { YAMLError(file: file, mark: mark, problem: problem) }

    static func mark(_ m: yaml_mark_t) -> Mark { Mark(line: Int(m.line) + 1, column: Int(m.column) + 1) }

    static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let p else { return nil }
        return String(cString: UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self))
    }

    mutating func run(_ buf: UnsafeBufferPointer<UInt8>) throws(YAMLError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw error(Mark(line: 1, column: 1), "libyaml could not start") }
        defer { yaml_parser_delete(&parser) }
        guard let base = buf.baseAddress else { return nil }
        yaml_parser_set_input_string(&parser, base, buf.count)
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else { throw parserError(parser) }
            defer { yaml_event_delete(&event) }
            if event.type == YAML_STREAM_END_EVENT { break }
            try handle(event)
        }
        return root
    }

    func parserError(_ p: yaml_parser_t) -> YAMLError {
        let problem = p.problem.map { String(cString: $0) } ?? "invalid YAML"
        var text = problem
        if let ctx = p.context.map({ String(cString: $0) }) {
            text += " (\(ctx) at \(Self.mark(p.context_mark)))"
        }
        return error(Self.mark(p.problem_mark), text)
    }

    mutating func handle(_ e: yaml_event_t) throws(YAMLError) {
        let mark = Self.mark(e.start_mark)
        switch e.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 { throw error(mark, "only one YAML document is allowed in a config file") }
        case YAML_SCALAR_EVENT:
            let s = e.data.scalar
            let value: String
            if let p = s.value {
                value = String(decoding: UnsafeBufferPointer(start: p, count: s.length), as: UTF8.self)
            } else {
                value = ""
            }
            let tag = Self.string(s.tag)
            let node = YAMLNode(.scalar(YAMLScalar(value, style: Self.style(s.style), tag: tag)), mark: mark)
            try count(1, at: mark)
            if let a = Self.string(s.anchor) { anchors[a] = (node, 1) }
            try add(node)
        case YAML_ALIAS_EVENT:
            let name = Self.string(e.data.alias.anchor) ?? ""
            guard let target = anchors[name] else { throw error(mark, "unknown alias '*\(name)'") }
            try count(target.size, at: mark)
            try add(target.node)
        case YAML_SEQUENCE_START_EVENT:
            try checkDepth(mark)
            stack.append(.sequence(mark: mark, anchor: Self.string(e.data.sequence_start.anchor), items: []))
        case YAML_MAPPING_START_EVENT:
            try checkDepth(mark)
            stack.append(.mapping(mark: mark, anchor: Self.string(e.data.mapping_start.anchor), entries: [], merges: [], pendingKey: nil))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return }
            let (node, anchor) = try close(frame)
            try count(1, at: node.mark)
            if let anchor { anchors[anchor] = (node, Self.size(node)) }
            try add(node)
        default:
            break
        }
    }

    func checkDepth(_ mark: Mark) throws(YAMLError) {
        if stack.count >= YAMLParser.maxDepth { throw error(mark, "nesting deeper than \(YAMLParser.maxDepth) levels") }
    }

    static func size(_ n: YAMLNode) -> Int {
        switch n.content {
        case .scalar: return 1
        case .sequence(let items): return items.reduce(1) { $0 + size($1) }
        case .mapping(let entries): return entries.reduce(1) { $0 + 1 + size($1.value) }
        }
    }

    mutating func count(_ n: Int, at mark: Mark) throws(YAMLError) {
        nodeCount += n
        if nodeCount > YAMLParser.maxNodes {
            throw error(mark, "the document expands to more than \(YAMLParser.maxNodes) nodes (alias expansion)")
        }
    }

    func close(_ frame: Frame) throws(YAMLError) -> (YAMLNode, String?) {
        switch frame {
        case .sequence(let mark, let anchor, let items):
            return (YAMLNode(.sequence(items), mark: mark), anchor)
        case .mapping(let mark, let anchor, var entries, let merges, _):
            // Merge keys: explicit keys win, earlier merged mappings win over later ones.
            var seen = Set(entries.map(\.key))
            for m in merges {
                let sources = m.sequence ?? [m]
                for src in sources {
                    guard let srcEntries = src.entries else {
                        throw error(src.mark, "a '<<' merge key needs a mapping or a list of mappings")
                    }
                    for e in srcEntries where !seen.contains(e.key) {
                        seen.insert(e.key)
                        entries.append(e)
                    }
                }
            }
            return (YAMLNode(.mapping(entries), mark: mark), anchor)
        }
    }

    mutating func add(_ node: YAMLNode) throws(YAMLError) {
        guard var top = stack.popLast() else {
            root = node
            return
        }
        defer { stack.append(top) }
        switch top {
        case .sequence(let mark, let anchor, var items):
            items.append(node)
            top = .sequence(mark: mark, anchor: anchor, items: items)
        case .mapping(let mark, let anchor, var entries, var merges, let pendingKey):
            guard let key = pendingKey else {
                guard node.scalar != nil else {
                    throw error(node.mark, "a mapping key must be a plain value, not \(node.kindDescription)")
                }
                top = .mapping(mark: mark, anchor: anchor, entries: entries, merges: merges, pendingKey: node)
                return
            }
            let keyText = key.scalar?.value ?? ""
            if keyText == "<<", key.scalar?.style == .plain {
                merges.append(node)
            } else {
                if let first = entries.first(where: { $0.key == keyText }) {
                    throw error(key.mark, "duplicate key '\(keyText)' (first at \(first.keyMark))")
                }
                entries.append(YAMLEntry(key: keyText, keyMark: key.mark, value: node))
            }
            top = .mapping(mark: mark, anchor: anchor, entries: entries, merges: merges, pendingKey: nil)
        }
    }

    static func style(_ s: yaml_scalar_style_t) -> YAMLScalarStyle {
        switch s {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: return .literal
        case YAML_FOLDED_SCALAR_STYLE: return .folded
        default: return .plain
        }
    }
}
