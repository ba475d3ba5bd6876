import Foundation
import Testing
@testable import NodeAgent

/// The CLI run in-process: parsing, help, exit codes, init/validate, API resolution, formatting.
@Suite struct CLITests {
    func run(_ args: [String], env: [String: String] = [:], cwd: String = FileManager.default.temporaryDirectory.path) async -> (Int32, CapturedOutput) {
        let out = CapturedOutput()
        let code = await NodeCLI.run(args, environment: env, output: out, currentDirectory: cwd)
        return (code, out)
    }

    func tempDir() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("agentvm-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func helpOnEveryCommandExitsZero() async {
        for sub in NodeCommands.spec.subcommands {
            let (code, out) = await run([sub.name, "--help"])
            #expect(code == 0, "\(sub.name)")
            #expect(out.stdout.contains("usage: agentvm-node \(sub.name)"), "\(sub.name): \(out.stdout)")
            #expect(out.stderr.isEmpty)
        }
        let (code, out) = await run(["memory", "set", "--help"])
        #expect(code == 0)
        #expect(out.stdout.contains("--ttl"))
    }

    @Test func usageErrorsExitTwoOnStderr() async {
        for args in [["spawn"], ["spawn", "echo", "--count", "0"], ["spwan"], ["exec", "p1"], ["send", "p1", "{bad"],
                     ["memory", "get", "k", "--ns", "a", "--shared"], []] {
            let (code, out) = await run(args)
            #expect(code == 2, "\(args)")
            #expect(out.stdout.isEmpty, "\(args)")
            #expect(out.stderr.hasPrefix("error: "), "\(args): \(out.stderr)")
            #expect(out.stderr.contains("usage: agentvm-node"), "\(args)")
        }
    }

    @Test func unreachableNodeExitsOneNamingTheURL() async {
        let (code, out) = await run(["ps", "--api", "http://127.0.0.1:1"])
        #expect(code == 1)
        #expect(out.stderr.contains("cannot reach the node at http://127.0.0.1:1"), "\(out.stderr)")
        let (badCode, badOut) = await run(["ps", "--api", "ftp://x"])
        #expect(badCode == 1)
        #expect(badOut.stderr.contains("invalid API URL 'ftp://x'"))
    }

    // [replicated-memory] set commands exist now: they go to the node's API like the others.
    @Test func setCommandsGoToTheAPI() async {
        let (code, out) = await run(["memory", "sadd", "k", "a", "--api", "http://127.0.0.1:1"])
        #expect(code == 1)
        #expect(out.stderr.contains("cannot reach the node"))
    }

    @Test func initWritesAValidConfigAndRefusesToOverwrite() async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (code, out) = await run(["init", "proj"], cwd: dir.path)
        #expect(code == 0, "\(out.stderr)")
        #expect(out.stdout.contains("wrote proj/agentvm.yml"))
        let config = dir.appendingPathComponent("proj/agentvm.yml")
        #expect(try String(contentsOf: config, encoding: .utf8) == ConfigTemplate.text)
        let agent = dir.appendingPathComponent("proj/agents/echo.py").path
        #expect(FileManager.default.isExecutableFile(atPath: agent))

        let (vCode, vOut) = await run(["validate", "proj/agentvm.yml"], cwd: dir.path)
        #expect(vCode == 0, "\(vOut.stderr)")
        #expect(vOut.stdout == "ok\n")

        try Data("name: mine\n".utf8).write(to: config)
        let (again, againOut) = await run(["init", "proj"], cwd: dir.path)
        #expect(again == 1)
        #expect(againOut.stderr.contains("already exists"))
        #expect(try String(contentsOf: config, encoding: .utf8) == "name: mine\n")

        let (forced, _) = await run(["init", "proj", "--force"], cwd: dir.path)
        #expect(forced == 0)
        #expect(try String(contentsOf: config, encoding: .utf8) == ConfigTemplate.text)
    }

    @Test func initTemplateWorkerValidatesWhenUncommented() throws {
        // The exec agent init writes must be what the template's commented worker refers to.
        #expect(ConfigTemplate.text.contains(InitFiles.echoAgentPath))
        let text = ConfigTemplate.text
            .replacingOccurrences(of: "  # worker:", with: "  worker:")
            .replacingOccurrences(of: "  #   handler: exec", with: "    handler: exec")
            .replacingOccurrences(of: "  #   command:", with: "    command:")
        let config = try NodeConfig.parse(text)
        #expect(config.agents.contains { $0.name == "worker" })
    }

    @Test func validateListsEveryIssueWithPositions() async throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("name: x\nmaxProcesses: 0\nagents:\n  a:\n    handler: ecko\n".utf8).write(to: dir.appendingPathComponent("bad.yml"))
        let (code, out) = await run(["validate", "bad.yml"], cwd: dir.path)
        #expect(code == 1)
        #expect(out.stdout.isEmpty)
        #expect(out.stderr.contains("bad.yml:2:1: maxProcesses:"), "\(out.stderr)")
        #expect(out.stderr.contains("bad.yml:5:5: agents.a.handler: unknown handler 'ecko'"), "\(out.stderr)")
        #expect(out.stderr.contains("bad.yml: 2 problems"))

        let (missing, missingOut) = await run(["validate", "nope.yml"], cwd: dir.path)
        #expect(missing == 1)
        #expect(missingOut.stderr.contains("nope.yml:1:1"))
    }

    @Test func apiResolution() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        func resolve(_ args: [String], _ env: [String: String] = [:]) throws -> String {
            guard case .command(let parsed) = try NodeCommands.parser.parse(args, environment: env) else { return "" }
            return NodeCLI.resolveAPI(args, parsed: parsed, environment: env, currentDirectory: dir.path)
        }
        #expect(try resolve(["ps"]) == NodeCommands.defaultAPI)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".agentvm"), withIntermediateDirectories: true)
        try Data(#"{"pid": 1, "api": "http://127.0.0.1:4321", "nodeId": "n"}"#.utf8)
            .write(to: dir.appendingPathComponent(".agentvm/node.json"))
        #expect(try resolve(["ps"]) == "http://127.0.0.1:4321")
        #expect(try resolve(["ps", "--api", "http://h:1"]) == "http://h:1")
        #expect(try resolve(["ps", "--api=http://h:2"]) == "http://h:2")
        #expect(try resolve(["ps"], ["AGENTVM_API": "http://h:3"]) == "http://h:3")
    }

    @Test func tablesAlignColumns() {
        let text = TextTable.render(["ID", "STATE"], [["p-1", "running"], ["p-123456", "paused"]])
        #expect(text == "ID        STATE\np-1       running\np-123456  paused\n")
        let flat = JSONFormat.flatten(["b": 1, "a": ["y": 2, "x": "s"]])
        #expect(flat.map(\.0) == ["a.x", "a.y", "b"])
        #expect(JSONFormat.cell(nil) == "-")
        #expect(JSONFormat.cell("s") == "s")
        #expect(JSONFormat.pretty(["b": 1, "a": [true, [:]], "c": []]) == "{\n  \"a\": [\n    true,\n    {}\n  ],\n  \"b\": 1,\n  \"c\": []\n}")
    }

    @Test func logFilters() {
        let event: JSONValue = ["id": 3, "type": "process.log", "source": "p-1", "data": ["message": "hi", "level": "info"]]
        #expect(LogsCommand.matches(event, pid: "p-1", types: []))
        #expect(!LogsCommand.matches(event, pid: "p-2", types: []))
        #expect(LogsCommand.matches(event, pid: nil, types: ["process."]))
        #expect(LogsCommand.matches(event, pid: nil, types: ["process.*"]))
        #expect(LogsCommand.matches(event, pid: nil, types: ["process"]))
        #expect(!LogsCommand.matches(event, pid: nil, types: ["memory."]))
        let other: JSONValue = ["type": "memory.set", "source": "memory", "data": ["process": "p-1"]]
        #expect(LogsCommand.matches(other, pid: "p-1", types: []))
        #expect(LogsCommand.streamQuery(["process."]).first?.1 == "process.*")
        #expect(LogsCommand.streamQuery(["process.*"]).first?.1 == "process.*")
        #expect(LogsCommand.streamQuery(["process"]).isEmpty)
        #expect(LogsCommand.streamQuery(["a.", "b."]).isEmpty)
    }
}
