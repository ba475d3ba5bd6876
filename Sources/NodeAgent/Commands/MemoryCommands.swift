/// `memory get|set|del|ls|incr|sadd|srem|smembers [--ns NS | --shared]`. On a clustered node the
/// shared namespace is replicated (docs/replication.md).
enum MemoryCommands {
    static func run(_ c: CommandContext, _ sub: String) async throws {
        let ns = c.command.flag("shared") ? "shared" : (c.command.option("ns") ?? "shared")
        let base = "/v1/memory/\(APIClient.escape(ns))"
        func keyPath() throws(CommandError) -> String { base + "/" + APIClient.escape(try c.argument("KEY")) }
        let client = try c.client()
        switch sub {
        case "get":
            let entry = try await client.get(try keyPath())
            c.printJSON(c.wantsJSON ? entry : (entry["value"] ?? .null))
        case "set":
            var body: [String: JSONValue] = ["value": try c.json("JSON") ?? .null]
            if let ttl = c.command.duration("ttl") {
                let (s, atto) = ttl.components
                body["ttlMs"] = .number(Double(s * 1000 + atto / 1_000_000_000_000_000))
            }
            _ = try await client.put(try keyPath(), .object(body))
        case "del":
            let answer = try await client.delete(try keyPath())
            c.print(answer["deleted"]?.boolValue == true ? "deleted" : "not found")
        case "ls":
            let query = c.command.option("prefix").map { [("prefix", $0)] } ?? []
            let answer = try await client.get(base, query: query)
            let entries = answer["entries"]?.arrayValue ?? []
            if c.wantsJSON { return c.printJSON(.array(entries)) }
            c.output.write(TextTable.render(["KEY", "VALUE", "EXPIRES"], entries.map { e in
                [JSONFormat.cell(e["key"]), (e["value"] ?? .null).jsonString, JSONFormat.cell(e["expiresAt"])]
            }))
        case "incr":
            // [replicated-memory] positional BY wins over --by
            let by = Double(c.command.argument("BY") ?? c.command.option("by") ?? "1") ?? 1
            let answer = try await client.post(try keyPath() + "/increment", ["by": .number(by)])
            c.printJSON(answer["value"] ?? .null)
        // [replicated-memory] set commands over POST .../sadd|srem and GET .../members; a MEMBER
        // that parses as JSON is that value, anything else is a string.
        case "sadd", "srem":
            let members = c.command.argumentList("MEMBER").map { (try? JSONValue.parse($0)) ?? .string($0) }
            let answer = try await client.post(try keyPath() + "/" + sub, ["members": .array(members)])
            c.printJSON(answer["members"] ?? .array([]))
        case "smembers":
            let answer = try await client.get(try keyPath() + "/members")
            let members = answer["members"]?.arrayValue ?? []
            if c.wantsJSON { return c.printJSON(.array(members)) }
            for m in members { c.print(m.stringValue ?? m.jsonString) }
        default:
            throw CommandError("unknown memory command '\(sub)'", exitCode: ExitCode.usage)
        }
    }
}
