/// `agents`, `stats`, `members`: what a node knows about itself.
enum InfoCommands {
    static func agents(_ c: CommandContext) async throws {
        let answer = try await c.client().get("/v1/agents")
        let agents = answer["agents"]?.arrayValue ?? []
        if c.wantsJSON { return c.printJSON(.array(agents)) }
        c.output.write(TextTable.render(["NAME", "HANDLER", "PROCESSES", "DESCRIPTION"], agents.map { a in
            [JSONFormat.cell(a["name"]), JSONFormat.cell(a["handler"]), JSONFormat.cell(a["processes"]),
             a["description"]?.stringValue ?? ""]
        }))
    }

    static func stats(_ c: CommandContext) async throws {
        let stats = try await c.client().get("/v1/stats")
        if c.wantsJSON { return c.printJSON(stats) }
        c.output.write(TextTable.render(["STAT", "VALUE"], JSONFormat.flatten(stats).map { [$0.0, JSONFormat.cell($0.1)] }))
    }

    static func members(_ c: CommandContext) async throws {
        let answer = try await c.client().get("/v1/members")
        let members = answer["members"]?.arrayValue ?? []
        if c.wantsJSON { return c.printJSON(.array(members)) }
        // [cluster] health is an object (docs/wire.md): show its main fields as columns
        c.output.write(TextTable.render(["ID", "STATUS", "INCARNATION", "LAST SEEN", "PROCESSES", "QUEUE", "CPU", "API"], members.map { m in
            [JSONFormat.cell(m["id"]), JSONFormat.cell(m["status"]), JSONFormat.cell(m["incarnation"]),
             JSONFormat.cell(m["lastSeen"]), JSONFormat.cell(m["health"]?["processCount"]),
             JSONFormat.cell(m["health"]?["queueDepth"]), JSONFormat.cell(m["health"]?["cpu"]),
             JSONFormat.cell(m["health"]?["apiAddress"])]
        }))
    }
}
