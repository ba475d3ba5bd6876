import ClusterCore
import Foundation
@testable import NodeAgent

/// A fresh directory under the system temp dir, unique per call.
func makeNodeTempDir(_ label: String = "node") -> String {
    let path = (NSTemporaryDirectory() as NSString)
        .appendingPathComponent("agentvm-\(label)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The config YAML every node test starts from: echo, counter and a contract-bound agent.
let baseNodeYAML = """
    name: test
    agents:
      greeter:
        handler: echo
        description: echoes
      tally:
        handler: counter
        memory:
          persistent: true
      strict:
        handler: echo
        contract:
          input: {type: object, required: [name], properties: {name: {type: string}}}
    channels:
      updates:
        type: pubsub
        historyLimit: 10
      typed:
        schema: {type: object, required: [n], properties: {n: {type: number}}}
    tools: [echo, time]
    """

/// A node config from YAML text, listening on a free loopback port, with its data under `dir`.
func nodeConfig(_ yaml: String = baseNodeYAML, dir: String, token: String? = nil) throws -> NodeConfig {
    var config = try NodeConfig.parse(yaml, file: (dir as NSString).appendingPathComponent("agentvm.yml"), baseDirectory: dir,
                                      knownTools: NodeTools.names)
    config.node.data = (dir as NSString).appendingPathComponent("data")
    config.node.listen = "127.0.0.1:0"
    config.node.token = token
    config.node.shutdownGrace = .seconds(5)
    return config
}

/// Starts a node for a test; quiet logs.
func startNode(_ config: NodeConfig) async throws -> Node {
    let node = try Node(config: config, logger: NodeLogger(level: .error))
    try await node.start()
    return node
}

extension RawResponse {
    /// The body as a JSON value (null when it is not JSON).
    var value: JSONValue { (try? JSONValue.parse(body)) ?? .null }
    /// `error.field` of an error body.
    var errorField: String? { value["error"]?["field"]?.stringValue }
}

/// One API call on a node; `json` is sent as the body.
func call(_ node: Node, _ method: String, _ path: String, json: JSONValue? = nil, body: Data? = nil,
          token: String? = nil) async throws -> RawResponse {
    var headers: [String: String] = [:]
    var data = body
    if let json {
        data = json.encoded()
        headers["Content-Type"] = "application/json"
    }
    if let token { headers["Authorization"] = "Bearer \(token)" }
    return try await rawRequest(port: node.port, method: method, path: path, headers: headers, body: data)
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func waitUntil(_ timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Starts a node, runs `body`, and stops the node whatever happened.
func withNode<T: Sendable>(_ config: NodeConfig, _ body: (Node) async throws -> T) async throws -> T {
    let node = try await startNode(config)
    do {
        let result = try await body(node)
        await node.stop()
        return result
    } catch {
        await node.stop()
        throw error
    }
}

/// The issues `NodeConfig.parse` reports for `text` (read as `agentvm.yml`), as printed; none when
/// it parses.
func configIssues(_ text: String) -> [String] {
    do {
        _ = try NodeConfig.parse(text, file: "agentvm.yml")
        return []
    } catch {
        return error.issues.map(\.description)
    }
}
