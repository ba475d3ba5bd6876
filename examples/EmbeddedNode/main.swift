// An embedded AgentVM node inside your own Swift program: NodeAgent as a library.
//
//   swift run EmbeddedNodeExample
//
// It starts a node on a free loopback port with its state in a temporary directory, registers a
// Swift agent of its own, spawns processes, executes tasks, sends a message, reads the node's HTTP
// API, and stops the node gracefully (checkpointing every process).
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NodeAgent

/// A handler of our own: answers a task with its input's `text` upper-cased.
struct ShoutHandler: AgentHandler {
    func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
        let text = task.input["text"]?.stringValue ?? ""
        return AgentOutput(["shout": .string(text.uppercased() + "!")])
    }
}

let dataDir = (NSTemporaryDirectory() as NSString)
    .appendingPathComponent("agentvm-embedded-\(ProcessInfo.processInfo.processIdentifier)")

// The same settings agentvm.yml holds, built in code.
var config = NodeConfig()
config.name = "embedded-example"
config.node.listen = "127.0.0.1:0"          // port 0: pick a free one
config.node.data = dataDir
config.node.logLevel = .warning
var tally = NodeConfig.Agent(name: "tally", handler: "counter")
tally.persistentMemory = true
config.agents = [tally]

do {
    let node = try Node(config: config)
    try await node.start()
    print("node \(node.id) serving \(node.apiURL ?? "?") with state in \(dataDir)")

    // Register a Swift agent of our own at runtime.
    node.kernel.handlers.register("shout") { _ in ShoutHandler() }
    try node.kernel.register(AgentDefinition(name: "shouter", handler: "shout", description: "Shouts its input"))

    // Spawn and execute.
    let shouter = try await node.kernel.spawn("shouter")
    let shout = try await node.kernel.execute(shouter, AgentTask("default", input: ["text": "hello agents"]))
    print("\(shouter) answered \(shout.output)")

    let counter = try await node.kernel.spawn("tally")
    let counted = try await node.kernel.execute(counter, AgentTask("default", input: ["by": 2]))
    print("\(counter) counted \(counted.output)")

    // A message goes into the process's mailbox (durable) and the counter handler counts it.
    try await node.kernel.send(to: counter, from: "example", payload: ["note": "one more"])
    let deadline = ContinuousClock.now + .seconds(5)
    while try node.kernel.memory.get(counter, "count")?.doubleValue != 3, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(10))
    }
    print("after the message, count = \(try node.kernel.memory.get(counter, "count")?.jsonString ?? "none")")

    // The same node through its HTTP API.
    if let api = node.apiURL, let url = URL(string: api + "/v1/processes") {
        let (data, _) = try await URLSession.shared.data(from: url)
        let processes = try JSONValue.parse(data)["processes"]?.arrayValue ?? []
        for p in processes {
            print("  \(p["id"]?.stringValue ?? "?")  \(p["agent"]?.stringValue ?? "?")  \(p["state"]?.stringValue ?? "?")")
        }
    }

    // A graceful stop checkpoints every process; a Node started on the same data directory would
    // bring them back. This example cleans up after itself instead.
    await node.stop()
    try? FileManager.default.removeItem(atPath: dataDir)
    print("stopped")
} catch {
    FileHandle.standardError.write(Data("embedded node failed: \(error)\n".utf8))
    exit(1)
}
