import Testing
@testable import NodeAgent

@Suite struct ArgumentParserTests {
    let parser = NodeCommands.parser

    func command(_ args: [String], env: [String: String] = [:]) throws -> ParsedCommand {
        guard case .command(let c) = try parser.parse(args, environment: env) else {
            throw UsageError("expected a command, got help", usage: "")
        }
        return c
    }

    func usageError(_ args: [String], env: [String: String] = [:]) -> UsageError? {
        do {
            _ = try parser.parse(args, environment: env)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesPositionalsOptionsAndFlagsInAnyOrder() throws {
        let c = try command(["spawn", "--count", "3", "writer", "--input={\"a\":1}", "--json"])
        #expect(c.path == ["spawn"])
        #expect(c.argument("AGENT") == "writer")
        #expect(c.int("count") == 3)
        #expect(c.json("input") == ["a": 1])
        #expect(c.flag("json"))
        #expect(c.option("api") == NodeCommands.defaultAPI)
        let short = try command(["spawn", "-n", "2", "w"])
        #expect(short.int("count") == 2)
    }

    @Test func defaultsAndEnvironmentFallbacks() throws {
        let c = try command(["ps"], env: ["AGENTVM_API": "http://10.0.0.1:7000", "AGENTVM_TOKEN": "s3"])
        #expect(c.option("api") == "http://10.0.0.1:7000")
        #expect(c.option("token") == "s3")
        let flagWins = try command(["ps", "--api", "http://x:1"], env: ["AGENTVM_API": "http://10.0.0.1:7000"])
        #expect(flagWins.option("api") == "http://x:1")
        #expect(try command(["spawn", "a"]).int("count") == 1)
        #expect(try command(["validate"]).argument("FILE") == "agentvm.yml")
    }

    @Test func globalOptionsWorkBeforeTheCommand() throws {
        let c = try command(["--api", "http://h:1", "kill", "p-1"])
        #expect(c.path == ["kill"] && c.argument("PID") == "p-1" && c.option("api") == "http://h:1")
    }

    @Test func subcommandsAndVariadicArguments() throws {
        let c = try command(["memory", "--ns", "team", "sadd", "tags", "a", "b", "c"])
        #expect(c.path == ["memory", "sadd"])
        #expect(c.command == "memory sadd")
        #expect(c.option("ns") == "team")
        #expect(c.argument("KEY") == "tags")
        #expect(c.argumentList("MEMBER") == ["a", "b", "c"])
        let incr = try command(["memory", "incr", "hits", "--by", "-2.5", "--shared"])
        #expect(incr.option("by") == "-2.5" && incr.flag("shared"))
        let set = try command(["memory", "set", "k", "{\"x\":[1,2]}", "--ttl", "30s"])
        #expect(set.json("JSON") == ["x": [1, 2]] && set.duration("ttl") == .seconds(30))
    }

    @Test func repeatedOptionsKeepEveryValue() throws {
        let c = try command(["start", "--nats", "nats://a:1", "--nats", "nats://b:2", "--cluster", "blue"])
        #expect(c.optionList("nats") == ["nats://a:1", "nats://b:2"])
        #expect(c.option("config") == nil)
        #expect(try command(["logs", "--type", "process.", "--type", "memory.", "-f"]).optionList("type") == ["process.", "memory."])
    }

    @Test func negativeNumbersAndDashDashArePositional() throws {
        #expect(try command(["send", "p1", "-5"]).argument("JSON") == "-5")
        #expect(try command(["publish", "--", "ch", "-1"]).argument("JSON") == "-1")
    }

    @Test func errorsNameTheBadArgumentAndCarryTheUsage() {
        let unknown = usageError(["spawn", "w", "--cuont", "3"])
        #expect(unknown?.message == "unknown option '--cuont' (did you mean '--count'?)")
        #expect(unknown?.argument == "--cuont")
        #expect(unknown?.usage.hasPrefix("usage: agentvm-node spawn [options] AGENT") == true)

        #expect(usageError(["spwan"])?.message == "unknown command 'spwan' (did you mean 'spawn'?)")
        #expect(usageError(["spawn"])?.message == "missing argument AGENT")
        #expect(usageError(["spawn", "a", "b"])?.message == "unexpected argument 'b'")
        #expect(usageError(["spawn", "a", "--count", "zero"])?.message == "invalid value 'zero' for --count: expected an integer")
        #expect(usageError(["spawn", "a", "--count", "0"])?.message == "invalid value '0' for --count: must be at least 1")
        #expect(usageError(["spawn", "a", "--input", "{bad"])?.message.hasPrefix("invalid value '{bad' for --input: not valid JSON") == true)
        #expect(usageError(["spawn", "a", "--input"])?.message == "option --input needs a value (JSON)")
        #expect(usageError(["spawn", "a", "--json=yes"])?.message == "option --json takes no value")
        #expect(usageError(["spawn", "a", "-n", "1", "-n", "2"])?.message == "option --count given more than once")
        #expect(usageError(["exec", "p1"])?.message == "missing required option --task NAME")
        #expect(usageError(["send", "p1", "not json"])?.message.hasPrefix("invalid JSON 'not json'") == true)
        #expect(usageError(["memory"])?.message == "missing subcommand (one of: get, set, del, ls, incr, sadd, srem, smembers)")
        #expect(usageError([])?.message.hasPrefix("missing command (one of: init, start,") == true)
        #expect(usageError(["memory", "get", "k", "--ns", "a", "--shared"])?.message == "--ns and --shared cannot be used together")
        #expect(usageError(["memory", "sadd", "k"])?.message == "missing argument MEMBER")
        #expect(usageError(["start", "--log-level", "loud"])?.message == "invalid value 'loud' for --log-level: expected one of: trace, debug, info, notice, warning, error, critical")
        #expect(usageError(["ps"], env: ["AGENTVM_API": ""]) == nil)
        let desc = usageError(["kill"])?.description ?? ""
        #expect(desc.hasPrefix("error: missing argument PID\n\nusage: agentvm-node kill [options] PID\n"))
    }

    @Test func everyCommandHasHelp() throws {
        func all(_ spec: CommandSpec, _ path: [String]) -> [[String]] {
            [path] + spec.subcommands.flatMap { all($0, path + [$0.name]) }
        }
        for path in all(NodeCommands.spec, []) {
            guard case .help(let text) = try parser.parse(path + ["--help"]) else {
                Issue.record("no help for \(path)")
                continue
            }
            #expect(text.contains("usage: agentvm-node"))
            #expect(text.contains("-h, --help"))
            let spec = parser.chain(for: path).last
            for o in spec?.options ?? [] { #expect(text.contains("--\(o.name)"), "help of \(path) lacks --\(o.name)") }
            for a in spec?.arguments ?? [] { #expect(text.contains(a.name)) }
        }
    }

    @Test func helpTextShape() throws {
        guard case .help(let text) = try parser.parse(["help", "spawn"]) else {
            Issue.record("expected help")
            return
        }
        #expect(text == """
        agentvm-node spawn - Spawn processes of an agent; prints their ids.

        usage: agentvm-node spawn [options] AGENT

        arguments:
          AGENT  Agent name.

        options:
          --input JSON   Start input for each process.
          -n, --count N  How many to spawn (default: 1).
          --json         Print stable JSON instead of a table.
          -h, --help     Show this help.

        global options:
          --api URL      Node API to talk to (env: AGENTVM_API; default: http://127.0.0.1:7070).
          --token TOKEN  Bearer token for the API; for 'start', the token the API requires (env: AGENTVM_TOKEN).

        """)
        guard case .help(let incr) = try parser.parse(["memory", "incr", "--help"]) else {
            Issue.record("expected help")
            return
        }
        #expect(incr.contains("options:\n  --ns NS"))
        guard case .help(let group) = try parser.parse(["memory", "-h"]) else {
            Issue.record("expected help")
            return
        }
        #expect(group.contains("commands:\n"))
        #expect(group.contains("smembers"))
        guard case .help(let top) = try parser.parse(["--help"]) else {
            Issue.record("expected help")
            return
        }
        #expect(top.hasPrefix("agentvm-node - run AI-agent processes"))
        for name in ["init", "start", "validate", "agents", "spawn", "ps", "pause", "resume", "kill", "exec", "send",
                     "publish", "logs", "memory", "checkpoint", "restore", "stats", "members"] {
            #expect(top.contains("\n  \(name) "), "top-level help lacks \(name)")
        }
        #expect(throws: UsageError.self) { try parser.parse(["help", "nope"]) }
    }

    @Test func customSpecsParseToo() throws {
        let spec = CommandSpec("tool", summary: "t", options: [OptionSpec("level", short: "l", value: "N", kind: .integer(min: 0), help: "l", env: "TOOL_LEVEL")],
                               subcommands: [CommandSpec("go", summary: "g", arguments: [ArgumentSpec("X", help: "x", optional: true)])])
        let p = ArgumentParser(spec)
        guard case .command(let c) = try p.parse(["go"], environment: ["TOOL_LEVEL": "4"]) else {
            Issue.record("expected a command")
            return
        }
        #expect(c.int("level") == 4 && c.argument("X") == nil)
        #expect(throws: UsageError.self) { try p.parse(["go"], environment: ["TOOL_LEVEL": "x"]) }
    }
}
