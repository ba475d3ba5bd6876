import AgentVMTestKit
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NodeAgent

/// One member as a node's `/v1/members` shows it.
struct MemberView: Equatable, CustomStringConvertible {
    var status: String
    var incarnation: UInt64
    var description: String { "\(status)@\(incarnation)" }
}

/// Real `agentvm-node` processes of one cluster, each in its own temp directory with a fixed node
/// id, joined through `--nats`/`--cluster` flags (or, with `viaConfig`, through `cluster:` in
/// agentvm.yml). Every child is SIGKILLed when the test ends (NodeUnderTest's deinit).
final class ClusterUnderTest: @unchecked Sendable {
    static let config = """
        name: cluster-e2e
        memory:
          backend: memory
        agents:
          echo:
            handler: echo

        """

    let name: String
    let ids: [String]
    private(set) var nodes: [String: NodeUnderTest] = [:]

    /// Nodes `ids`; node i connects to `servers[i % servers.count]`.
    init(ids: [String], servers: [String], viaConfig: Bool = false) throws {
        name = "e2e_" + UUID().uuidString.prefix(8).lowercased()
        self.ids = ids
        for (i, id) in ids.enumerated() {
            let server = servers[i % servers.count]
            if viaConfig {
                let text = Self.config + """
                    cluster:
                      name: \(name)
                      nats: ["\(server)"]

                    """
                nodes[id] = try NodeUnderTest(config: text, extraArgs: ["--node-id", id])
            } else {
                nodes[id] = try NodeUnderTest(config: Self.config,
                                              extraArgs: ["--node-id", id, "--nats", server, "--cluster", name])
            }
        }
    }

    subscript(id: String) -> NodeUnderTest {
        guard let n = nodes[id] else { preconditionFailure("no node \(id) in this test cluster") }
        return n
    }

    /// Starts the nodes one after another (each waits until ready).
    func startAll() async throws {
        for id in ids { try await self[id].start() }
    }

    private let lock = NSLock()
    private var clients: [String: APIClient] = [:]

    /// One client per API address (each holds a URLSession, so polling must not make one per call).
    func client(_ id: String) -> APIClient? {
        let api = self[id].api
        return lock.withLock {
            if let c = clients[api] { return c }
            let c = try? APIClient(baseURL: api, timeout: .seconds(3))
            clients[api] = c
            return c
        }
    }

    /// `id`'s view of the cluster, or nil when its API does not answer.
    func view(of id: String) async -> [String: MemberView]? {
        guard let client = client(id),
              let answer = try? await client.get("/v1/members"),
              let rows = answer["members"]?.arrayValue else { return nil }
        var view: [String: MemberView] = [:]
        for row in rows {
            guard let id = row["id"]?.stringValue, let status = row["status"]?.stringValue,
                  let inc = row["incarnation"]?.doubleValue, let incarnation = UInt64(exactly: inc) else { continue }
            view[id] = MemberView(status: status, incarnation: incarnation)
        }
        return view
    }

    /// Waits (polling every 100 ms, up to `deadline`) until every one of `observers` sees a view
    /// satisfying `condition`; returns the last views seen, for failure messages.
    func waitForViews(of observers: [String], deadline: Duration = .seconds(30),
                      _ condition: @escaping ([String: MemberView]) -> Bool) async -> (ok: Bool, views: [String: [String: MemberView]]) {
        var last: [String: [String: MemberView]] = [:]
        let ok = await waitUntil(deadline: deadline, poll: .milliseconds(100)) {
            var all = true
            for o in observers {
                let v = await self.view(of: o)
                last[o] = v ?? [:]
                if !(v.map(condition) ?? false) { all = false }
            }
            return all
        }
        return (ok, last)
    }

    /// Waits until each of `observers` sees exactly `members`, all alive.
    func waitAllAlive(_ observers: [String], members: [String], deadline: Duration = .seconds(30))
        async -> (ok: Bool, views: [String: [String: MemberView]]) {
        await waitForViews(of: observers, deadline: deadline) { view in
            members.allSatisfy { view[$0]?.status == "alive" }
        }
    }

    /// The value of one sample line of `id`'s `/metrics`, e.g. `agentvm_cluster_members{status="alive"}`.
    func metric(_ id: String, _ sample: String) async -> Double? {
        guard let url = URL(string: self[id].api + "/metrics"),
              let (data, _) = try? await URLSession.shared.data(from: url) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }

    /// Event types of `id`'s recent events matching `type` (e.g. `member.*`), with their data.
    func events(_ id: String, type: String) async -> [(type: String, data: JSONValue)] {
        guard let client = client(id),
              let answer = try? await client.get("/v1/logs", query: [("type", type), ("limit", "1000")]) else { return [] }
        return (answer["events"]?.arrayValue ?? []).compactMap { e in
            e["type"]?.stringValue.map { ($0, e["data"] ?? .null) }
        }
    }
}
