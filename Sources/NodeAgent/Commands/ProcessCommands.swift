/// Process commands: `spawn`, `ps`, `pause`/`resume`/`kill`, `exec`, `send`, and `publish`.
enum ProcessCommands {
    static func path(_ pid: String, _ rest: String = "") -> String {
        "/v1/processes/\(APIClient.escape(pid))\(rest)"
    }

    static func spawn(_ c: CommandContext) async throws {
        var body: [String: JSONValue] = ["agent": .string(try c.argument("AGENT")), "count": .number(Double(c.command.int("count") ?? 1))]
        if let input = try c.json("input") { body["input"] = input }
        let answer = try await c.client().post("/v1/processes", .object(body))
        let processes = answer["processes"]?.arrayValue ?? []
        if c.wantsJSON { return c.printJSON(.array(processes)) }
        for p in processes { c.print(JSONFormat.cell(p["id"])) }
    }

    static func ps(_ c: CommandContext) async throws {
        let query = c.command.option("agent").map { [("agent", $0)] } ?? []
        let answer = try await c.client().get("/v1/processes", query: query)
        let processes = answer["processes"]?.arrayValue ?? []
        if c.wantsJSON { return c.printJSON(.array(processes)) }
        c.output.write(TextTable.render(["ID", "AGENT", "STATE", "NODE", "MAILBOX", "CREATED"], processes.map { p in
            [JSONFormat.cell(p["id"]), JSONFormat.cell(p["agent"]), JSONFormat.cell(p["state"]), JSONFormat.cell(p["node"]),
             JSONFormat.cell(p["mailboxDepth"]), JSONFormat.cell(p["createdAt"])]
        }))
    }

    /// pause, resume, terminate: prints "ID STATE".
    static func transition(_ c: CommandContext, _ action: String) async throws {
        let pid = try c.argument("PID")
        let process = try await c.client().post(path(pid, "/\(action)"))
        c.print("\(JSONFormat.cell(process["id"] ?? .string(pid))) \(JSONFormat.cell(process["state"]))")
    }

    static func exec(_ c: CommandContext) async throws {
        let pid = try c.argument("PID")
        var body: [String: JSONValue] = ["task": .string(c.command.option("task") ?? "default")]
        if let input = try c.json("input") { body["input"] = input }
        // The request must outlive the task: the node enforces the agent's own timeout.
        let timeout = c.command.duration("timeout") ?? .seconds(600)
        let result = try await c.client(timeout: timeout).post(path(pid, "/execute"), .object(body), timeout: timeout)
        c.printJSON(c.wantsJSON ? result : (result["output"] ?? .null))
    }

    static func send(_ c: CommandContext) async throws {
        let pid = try c.argument("PID")
        let body: JSONValue = ["payload": try c.json("JSON") ?? .null, "priority": .number(Double(c.command.int("priority") ?? 0)), "from": "cli"]
        let message = try await c.client().post(path(pid, "/messages"), body)
        c.print(JSONFormat.cell(message["id"]))
    }

    static func publish(_ c: CommandContext) async throws {
        let channel = try c.argument("CHANNEL")
        var body: [String: JSONValue] = ["payload": try c.json("JSON") ?? .null, "priority": .number(Double(c.command.int("priority") ?? 0)), "from": "cli"]
        if let to = c.command.option("to") { body["to"] = .string(to) }
        let message = try await c.client().post("/v1/channels/\(APIClient.escape(channel))/messages", .object(body))
        c.print(JSONFormat.cell(message["id"]))
    }
}
