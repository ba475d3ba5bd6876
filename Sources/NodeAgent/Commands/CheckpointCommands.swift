import Foundation

/// `checkpoint PID [--out FILE]` and `restore FILE`.
enum CheckpointCommands {
    static func checkpoint(_ c: CommandContext) async throws {
        let pid = try c.argument("PID")
        let document = try await c.client().post(ProcessCommands.path(pid, "/checkpoint"))
        guard let out = c.command.option("out") else { return c.printJSON(document) }
        let path = c.resolve(out)
        do {
            try Data((JSONFormat.pretty(document) + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandError("cannot write \(out): \(error.localizedDescription)")
        }
        c.print("wrote \(out)")
    }

    static func restore(_ c: CommandContext) async throws {
        let file = try c.argument("FILE")
        guard let data = FileManager.default.contents(atPath: c.resolve(file)) else {
            throw CommandError("cannot read \(file): no such file")
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(data)
        } catch {
            throw CommandError("\(file): \(error)")
        }
        let process = try await c.client().post("/v1/checkpoints/restore", document)
        if c.wantsJSON { return c.printJSON(process) }
        c.print("\(JSONFormat.cell(process["id"])) \(JSONFormat.cell(process["state"]))")
    }
}
