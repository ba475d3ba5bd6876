/// `logs [PID] [--follow]`: the node's recent events (process logs are `process.log` events),
/// then, with `--follow`, new ones from the event stream as they happen.
enum LogsCommand {
    static func run(_ c: CommandContext) async throws {
        let pid = c.command.argument("PID")
        let types = c.command.optionList("type")
        var query: [(String, String)] = [("limit", String(c.command.int("limit") ?? 100))]
        if let pid { query.append(("process", pid)) }
        query += streamQuery(types)
        let client = try c.client()
        // Open the stream before reading the backlog so nothing falls between the two; events
        // seen in both are printed once (ids increase).
        let stream = c.command.flag("follow") ? client.events("/v1/events", query: streamQuery(types) + (pid.map { [("process", $0)] } ?? [])) : nil
        let answer = try await client.get("/v1/logs", query: query)
        var last = -1.0
        for event in answer["events"]?.arrayValue ?? [] where matches(event, pid: pid, types: types) {
            show(c, event)
            last = max(last, event["id"]?.doubleValue ?? last)
        }
        guard let stream else { return }
        for try await sse in stream {
            guard let event = try? JSONValue.parse(sse.data) else { continue }
            let id = event["id"]?.doubleValue ?? Double(sse.id ?? "") ?? .infinity
            guard id > last, matches(event, pid: pid, types: types) else { continue }
            last = id.isFinite ? id : last
            show(c, event)
        }
        // Following ends only by interruption; a closed stream means the node went away.
        throw CommandError("the node closed the event stream (stopped or restarted?)")
    }

    /// The server filters by one pattern (`a.*` or an exact type); a plain `a`, which here also
    /// means `a.*`, and several types are filtered here only.
    static func streamQuery(_ types: [String]) -> [(String, String)] {
        guard types.count == 1, let t = types.first else { return [] }
        if t.hasSuffix(".*") { return [("type", t)] }
        if t.hasSuffix(".") { return [("type", t + "*")] }
        return []
    }

    /// `type` matches exactly, or as a prefix when it ends with "." or "*"; `pid` matches the
    /// event's source or its data's `process` (or `processId`), as the API's own filter does.
    static func matches(_ event: JSONValue, pid: String?, types: [String]) -> Bool {
        if let pid, event["source"]?.stringValue != pid, event["data"]?["process"]?.stringValue != pid,
           event["data"]?["processId"]?.stringValue != pid { return false }
        guard !types.isEmpty else { return true }
        let type = event["type"]?.stringValue ?? ""
        return types.contains { t in
            if t.hasSuffix("*") { return type.hasPrefix(String(t.dropLast())) }
            if t.hasSuffix(".") { return type.hasPrefix(t) }
            return type == t || type.hasPrefix(t + ".")
        }
    }

    /// One event: JSON on one line with `--json`, else "TIME TYPE SOURCE DATA" (a log line
    /// shows its level and message).
    static func show(_ c: CommandContext, _ event: JSONValue) {
        if c.wantsJSON { return c.print(event.jsonString) }
        let data = event["data"] ?? .null
        var detail = data.isNull ? "" : data.jsonString
        if let message = data["message"]?.stringValue {
            detail = [data["level"]?.stringValue.map { $0.uppercased() }, message].compactMap { $0 }.joined(separator: " ")
        }
        c.print([JSONFormat.cell(event["timestamp"]), JSONFormat.cell(event["type"]), JSONFormat.cell(event["source"]), detail]
            .joined(separator: "  "))
    }
}
