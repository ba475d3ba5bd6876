import Foundation

/// A 3-server (or N-server) NATS cluster on loopback: each server has its own client, monitor
/// and cluster ports and routes to every other server (`--cluster_name`, `--cluster`, `--routes`).
public final class NATSClusterFixture: Sendable {
    /// The servers, in start order.
    public let servers: [NATSServerFixture]
    /// The cluster's name.
    public let name: String

    /// Client URLs of every server.
    public var urls: [String] { servers.map(\.url) }

    /// Builds the servers' command lines; call `start()` to run them.
    public init(size: Int = 3, name: String = "agentvm-\(UUID().uuidString.prefix(6))", jetStream: Bool = false) throws {
        self.name = name
        let clusterPorts = try FreePort.next(size)
        let routes = clusterPorts.map { "nats://127.0.0.1:\($0)" }
        var made: [NATSServerFixture] = []
        for i in 0..<size {
            let others = routes.enumerated().filter { $0.offset != i }.map(\.element).joined(separator: ",")
            made.append(try NATSServerFixture(
                jetStream: jetStream, name: "\(name)-\(i + 1)",
                extraArguments: ["--cluster_name", name,
                                 "--cluster", "nats://127.0.0.1:\(clusterPorts[i])",
                                 "--routes", others]))
        }
        servers = made
    }

    /// Creates and starts a cluster, with fresh ports if another process took one (up to 5 tries).
    public static func started(size: Int = 3, jetStream: Bool = false,
                               deadline: Duration = .seconds(20)) throws -> NATSClusterFixture {
        var attempt = 0
        while true {
            attempt += 1
            let c = try NATSClusterFixture(size: size, jetStream: jetStream)
            do {
                try c.start(deadline: deadline)
                return c
            } catch FixtureError.exited(let why, _) where attempt < 5 && why.contains("address already in use") {
                c.stop()
            }
        }
    }

    /// Starts every server, then waits until each has a route to every other one.
    public func start(deadline: Duration = .seconds(20)) throws {
        for s in servers { try s.start(deadline: deadline) }
        let want = servers.count - 1
        let formed = waitUntilBlocking(deadline: deadline, poll: .milliseconds(50)) {
            servers.allSatisfy { routeCount($0) >= want }
        }
        if !formed { throw FixtureError.notReady("NATS cluster \(name) routes") }
    }

    /// Stops every server.
    public func stop() { for s in servers { s.stop() } }

    private func routeCount(_ server: NATSServerFixture) -> Int {
        guard let body = server.monitor("/routez"),
              let data = body.data(using: .utf8),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let n = json["num_routes"] as? Int else { return 0 }
        return n
    }
}
