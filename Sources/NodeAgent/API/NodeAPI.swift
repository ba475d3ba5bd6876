import ClusterCore
import Foundation

/// The node's HTTP API (docs/api.md): routes over the kernel, with errors mapped to the
/// documented codes. Gating on the node's phase (503 `not_ready` / `shutting_down`) happens in
/// `Node` before a request reaches these routes.
struct NodeAPI: Sendable {
    /// Version reported by `/v1/node`.
    static let version = "0.1.0"

    let node: Node
    var kernel: Kernel { node.kernel }

    typealias Route = @Sendable (NodeAPI, HTTPRequest) async throws -> HTTPResponse

    func router() -> Router {
        var r = Router()
        func add(_ method: String, _ path: String, _ route: @escaping Route) {
            let api = self
            r.add(method, path) { request in
                do { return try await route(api, request) } catch { throw APIErrors.map(error) }
            }
        }
        add("GET", "/healthz") { _, _ in .json(["status": "ok"]) }
        add("GET", "/readyz") { api, _ in
            api.node.isReady ? .json(["status": "ready"]) : HTTPError(status: 503, code: "not_ready", message: "not ready").response
        }
        add("GET", "/metrics") { api, _ in .text(api.metricsText(), contentType: "text/plain; version=0.0.4; charset=utf-8") }
        add("GET", "/v1/node") { api, _ in .json(api.nodeInfo()) }
        add("GET", "/v1/stats") { api, _ in .json(api.stats()) }
        add("GET", "/v1/members") { api, _ in .json(["members": .array(api.node.members().map(APIJSON.member))]) }
        add("GET", "/v1/events") { api, req in api.events(req) }
        add("GET", "/v1/logs") { api, req in try api.logs(req) }

        add("GET", "/v1/agents") { api, _ in .json(["agents": .array(api.kernel.agents.map { api.agentJSON($0) })]) }
        add("GET", "/v1/agents/:name") { api, req in
            let name = try req.parameter("name")
            guard let a = api.kernel.agent(named: name) else { throw KernelError.agentNotFound(name) }
            return .json(api.agentJSON(a))
        }

        add("POST", "/v1/processes") { api, req in try await api.spawn(req) }
        add("GET", "/v1/processes") { api, req in try api.listProcesses(req) }
        add("GET", "/v1/processes/:id") { api, req in .json(try api.processJSON(try req.parameter("id"))) }
        add("POST", "/v1/processes/:id/pause") { api, req in
            let id = try req.parameter("id")
            try await api.kernel.pause(id)
            return .json(try api.processJSON(id))
        }
        add("POST", "/v1/processes/:id/resume") { api, req in
            let id = try req.parameter("id")
            try await api.kernel.resume(id)
            return .json(try api.processJSON(id))
        }
        add("POST", "/v1/processes/:id/terminate") { api, req in try await api.terminate(req) }
        add("DELETE", "/v1/processes/:id") { api, req in try await api.terminate(req) }
        add("POST", "/v1/processes/:id/execute") { api, req in try await api.execute(req) }
        add("POST", "/v1/processes/:id/messages") { api, req in try await api.send(req) }
        add("POST", "/v1/processes/:id/checkpoint") { api, req in
            let data = try await api.kernel.checkpoint(try req.parameter("id"), reason: .manual)
            return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: .data(data))
        }
        add("POST", "/v1/checkpoints/restore") { api, req in try await api.restore(req) }

        add("GET", "/v1/channels") { api, _ in .json(["channels": .array(api.kernel.broker.channels().map { api.channelJSON($0) })]) }
        add("POST", "/v1/channels") { api, req in try await api.createChannel(req) }
        add("POST", "/v1/channels/:name/messages") { api, req in try await api.publish(req) }
        add("GET", "/v1/channels/:name/history") { api, req in try api.history(req) }
        add("GET", "/v1/deadletters") { api, req in
            let limit = try QueryParameters(req).int("limit", default: 100, min: 1, max: 100_000)
            return .json(["deadLetters": .array(api.kernel.broker.deadLetters(limit: limit).map(APIJSON.deadLetter))])
        }

        // [replicated-memory] a replicated namespace on a clustered node goes through ReplicatedMemory
        add("GET", "/v1/memory/:ns") { api, req in
            if let r = try api.replicated(req) { return try await api.listReplicated(r, req) }
            return try api.listMemory(req)
        }
        add("GET", "/v1/memory/:ns/:key") { api, req in
            if let r = try api.replicated(req) { return try await api.getReplicated(r, req) }
            return try api.getMemory(req)
        }
        add("PUT", "/v1/memory/:ns/:key") { api, req in
            if let r = try api.replicated(req) { return try await api.setReplicated(r, req) }
            return try await api.setMemory(req)
        }
        add("DELETE", "/v1/memory/:ns/:key") { api, req in
            if let r = try api.replicated(req) { return try await api.deleteReplicated(r, req) }
            return try await api.deleteMemory(req)
        }
        add("POST", "/v1/memory/:ns/:key/increment") { api, req in
            if let r = try api.replicated(req) { return try await api.incrementReplicated(r, req) }
            return try await api.incrementMemory(req)
        }
        // [replicated-memory] set routes (OR-sets when replicated)
        add("POST", "/v1/memory/:ns/:key/sadd") { api, req in try await api.modifySet(req, add: true) }
        add("POST", "/v1/memory/:ns/:key/srem") { api, req in try await api.modifySet(req, add: false) }
        add("GET", "/v1/memory/:ns/:key/members") { api, req in try await api.setMembers(req) }
        return r
    }

    // MARK: Node

    func nodeInfo() -> JSONValue {
        let config = node.config
        return [
            "id": .string(node.id), "name": .string(config.name), "version": .string(Self.version),
            "mode": .string(node.mode), "listen": .string(node.apiURL ?? config.node.listen),
            "dataDir": .string(node.dataDirectory), "startedAt": APIJSON.time(node.startedAt),
            "pid": .number(Double(ProcessInfo.processInfo.processIdentifier)),
        ]
    }

    func stats() -> JSONValue {
        let s = kernel.stats()
        var byState: [String: JSONValue] = [:]
        for state in ProcessState.allCases { byState[state.rawValue] = APIJSON.num(s.processesByState[state] ?? 0) }
        let tools = s.tools.total
        return [
            "agents": APIJSON.num(s.agents), "processes": APIJSON.num(s.processes), "processesByState": .object(byState),
            "tokens": APIJSON.num(s.totals.tokens), "cost": .number(s.totals.cost),
            "executions": APIJSON.num(s.totals.executions), "failedExecutions": APIJSON.num(s.totals.failedExecutions),
            "messagesReceived": APIJSON.num(s.totals.messagesReceived),
            "memory": [
                "namespaces": APIJSON.num(s.memory.namespaces), "keys": APIJSON.num(s.memory.keys),
                "reads": APIJSON.num(s.memory.reads), "writes": APIJSON.num(s.memory.writes),
                "expired": APIJSON.num(s.memory.expired),
            ],
            "tools": [
                "registered": APIJSON.num(s.tools.registered), "calls": APIJSON.num(tools.calls),
                "failures": APIJSON.num(tools.failures), "denied": APIJSON.num(tools.denied),
            ],
            "channels": APIJSON.num(s.channels), "published": APIJSON.num(s.broker.published),
            "deadLetters": APIJSON.num(s.broker.deadLettered),
            "eventsEmitted": APIJSON.num(s.eventsEmitted), "droppedEvents": APIJSON.num(s.droppedEvents),
            "execPrograms": APIJSON.num(node.execAgents.runningCount),
        ]
    }

    func metricsText() -> String {
        let s = kernel.stats()
        var p = PrometheusText()
        for state in ProcessState.allCases where state != .terminated {
            p.add("agentvm_processes", .gauge, help: "Processes by state.", value: Double(s.processesByState[state] ?? 0),
                  labels: [("state", state.rawValue)])
        }
        p.add("agentvm_agents", .gauge, help: "Registered agents.", value: Double(s.agents))
        p.add("agentvm_executions_total", .counter, help: "Completed executions.", value: Double(s.totals.executions))
        p.add("agentvm_failed_executions_total", .counter, help: "Failed executions.", value: Double(s.totals.failedExecutions))
        p.add("agentvm_tokens_total", .counter, help: "Tokens used.", value: Double(s.totals.tokens))
        p.add("agentvm_cost_total", .counter, help: "Cost reported.", value: s.totals.cost)
        p.add("agentvm_messages_total", .counter, help: "Messages handled by processes.", value: Double(s.totals.messagesReceived))
        p.add("agentvm_channel_messages_total", .counter, help: "Messages published on channels.", value: Double(s.broker.published))
        p.add("agentvm_deadletters_total", .counter, help: "Messages dead-lettered.", value: Double(s.broker.deadLettered))
        p.add("agentvm_memory_keys", .gauge, help: "Memory keys stored.", value: Double(s.memory.keys))
        p.add("agentvm_memory_writes_total", .counter, help: "Memory writes.", value: Double(s.memory.writes))
        p.add("agentvm_tool_calls_total", .counter, help: "Tool calls.", value: Double(s.tools.total.calls))
        p.add("agentvm_events_total", .counter, help: "Events emitted.", value: Double(s.eventsEmitted))
        p.add("agentvm_events_dropped_total", .counter, help: "Events dropped by slow listeners.", value: Double(s.droppedEvents))
        p.add("agentvm_exec_programs", .gauge, help: "Exec agent programs running.", value: Double(node.execAgents.runningCount))
        p.add("agentvm_node_ready", .gauge, help: "1 when the node is ready.", value: node.isReady ? 1 : 0)
        addDatabaseMetrics(to: &p)
        node.cluster?.addMetrics(to: &p) // [cluster] membership, gossip and connection figures
        node.replicatedMemory?.addMetrics(to: &p) // [replicated-namespaces] agentvm_replication_*
        for (code, count) in node.metrics.byStatus.sorted(by: { $0.key < $1.key }) {
            p.add("agentvm_http_requests_total", .counter, help: "HTTP requests answered, by status code.",
                  value: Double(count), labels: [("code", String(code))])
        }
        return p.text
    }

    /// Group commit and checkpoints of each SQLite file, labelled `db="node"` or `db="memory"`:
    /// writes per transaction tells how well concurrent writers share fsyncs.
    private func addDatabaseMetrics(to p: inout PrometheusText) {
        var databases = [("node", node.store.database.writeStats)]
        if let memory = node.memoryBackend { databases.append(("memory", memory.database.writeStats)) }
        // The exposition format wants each metric's samples together: metric by metric, then database.
        let counters: [(String, String, (SQLiteWriteStats) -> UInt64)] = [
            ("agentvm_sqlite_writes_total", "Writes taken by the group-commit writer.", { $0.writes }),
            ("agentvm_sqlite_transactions_total", "Transactions committed (one fsync each).", { $0.transactions }),
            ("agentvm_sqlite_replays_total", "Batches replayed with a savepoint per write after one failed.", { $0.replays }),
            ("agentvm_sqlite_checkpoint_failures_total", "WAL checkpoints that failed (the next one retries).", { $0.failedCheckpoints }),
        ]
        for (name, help, value) in counters {
            for (db, stats) in databases { p.add(name, .counter, help: help, value: Double(value(stats)), labels: [("db", db)]) }
        }
        for (db, stats) in databases {
            p.add("agentvm_sqlite_largest_batch", .gauge, help: "Most writes committed together.",
                  value: Double(stats.largestBatch), labels: [("db", db)])
        }
        for (db, stats) in databases {
            for (by, n) in [("background", stats.backgroundCheckpoints), ("writer", stats.writerCheckpoints)] {
                p.add("agentvm_sqlite_checkpoints_total", .counter, help: "WAL checkpoints, by who ran them.",
                      value: Double(n), labels: [("db", db), ("by", by)])
            }
        }
    }

    /// `?type=` filters by event type (as `EventFilter`), `?process=` by source or `data.process`.
    func events(_ req: HTTPRequest) -> HTTPResponse {
        let q = QueryParameters(req)
        let subscription = kernel.events.subscribe(EventFilter(q.string("type") ?? "*"), bufferSize: 10_000)
        guard let process = q.string("process") else { return .eventStream(SSE.stream(subscription)) }
        let stream = AsyncStream<Data> { continuation in
            let task = Task {
                for await event in subscription.events
                where event.source == process || event.data["process"]?.stringValue == process {
                    continuation.yield(SSE.frame(data: event.json.jsonString, event: event.type, id: String(event.id)))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in
                task.cancel()
                subscription.cancel()
            }
        }
        return .eventStream(stream)
    }

    func logs(_ req: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        let q = QueryParameters(req)
        let limit = try q.int("limit", default: 100, min: 1, max: node.recentEvents.capacity)
        var after: UInt64?
        if let raw = q.string("after") {
            guard let a = UInt64(raw) else { throw RequestBody.invalid("after", "must be an event id, got '\(raw)'") }
            after = a
        }
        let events = node.recentEvents.recent(process: q.string("process"), type: EventFilter(q.string("type") ?? "*"),
                                              after: after, limit: limit)
        return .json(["events": .array(events.map(\.json))])
    }

    // MARK: Agents and processes

    func agentJSON(_ a: AgentDefinition) -> JSONValue {
        APIJSON.agent(a, processes: kernel.processes(agent: a.name).filter { !$0.state.isFinal }.count)
    }

    func processJSON(_ id: String) throws(KernelError) -> JSONValue {
        guard let p = kernel.process(id) else { throw .processNotFound(id) }
        return APIJSON.process(p, node: node.id)
    }

    func spawn(_ req: HTTPRequest) async throws -> HTTPResponse {
        let body = try RequestBody(req)
        let agent = try body.requiredString("agent")
        let count = try body.int("count", min: 1, max: 10_000) ?? 1
        guard kernel.agent(named: agent) != nil else { throw KernelError.agentNotFound(agent) }
        let ids = try await kernel.spawn(agent, count: count)
        if let input = body.value("input") {
            for id in ids { _ = try await kernel.execute(id, AgentTask("default", input: input)) }
        }
        let processes = try ids.map { id throws(KernelError) in try processJSON(id) }
        return .json(["processes": .array(processes)], status: 201)
    }

    func listProcesses(_ req: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        let q = QueryParameters(req)
        var state: ProcessState?
        if let raw = q.string("state") {
            guard let s = ProcessState(rawValue: raw) else {
                throw RequestBody.invalid("state", "must be one of \(ProcessState.allCases.map(\.rawValue).joined(separator: ", ")), got '\(raw)'")
            }
            state = s
        }
        let list = kernel.processes(agent: q.string("agent"), state: state).map { APIJSON.process($0, node: node.id) }
        return .json(["processes": .array(list)])
    }

    func terminate(_ req: HTTPRequest) async throws -> HTTPResponse {
        let id = try req.parameter("id")
        try await kernel.terminate(id)
        return .json(try processJSON(id))
    }

    func execute(_ req: HTTPRequest) async throws -> HTTPResponse {
        let id = try req.parameter("id")
        let body = try RequestBody(req)
        let task = try body.string("task") ?? "default"
        guard !task.isEmpty else { throw RequestBody.invalid("task", "must not be empty") }
        let result = try await kernel.execute(id, AgentTask(task, input: body.value("input") ?? .null))
        return .json(APIJSON.execution(result))
    }

    func send(_ req: HTTPRequest) async throws -> HTTPResponse {
        let id = try req.parameter("id")
        let body = try RequestBody(req)
        let payload = try body.required("payload")
        let from = try body.string("from") ?? "api"
        let priority = try body.int("priority") ?? 0
        let ttl = try body.milliseconds("ttlMs")
        let message = try await kernel.send(to: id, from: from, payload: payload, priority: priority, ttl: ttl)
        return .json(APIJSON.message(message), status: 202)
    }

    func restore(_ req: HTTPRequest) async throws -> HTTPResponse {
        guard !req.body.isEmpty else { throw HTTPError(status: 400, code: "invalid_json", message: "the body must be a checkpoint document") }
        _ = try req.jsonObject()
        let id = try await kernel.restore(req.body)
        return .json(try processJSON(id), status: 201)
    }

    // MARK: Channels

    func channelJSON(_ c: ChannelConfig) -> JSONValue {
        let published = kernel.broker.stats().channels.first { $0.name == c.name }?.published ?? 0
        return APIJSON.channel(c, subscribers: kernel.broker.subscribers(c.name).count, published: published)
    }

    func createChannel(_ req: HTTPRequest) async throws -> HTTPResponse {
        let body = try RequestBody(req)
        let name = try body.requiredString("name")
        var type = ChannelType.pubsub
        if let raw = try body.string("type") {
            guard let t = ChannelType(rawValue: raw) else {
                throw RequestBody.invalid("type", "must be pubsub, direct or queue, got '\(raw)'")
            }
            type = t
        }
        let historyLimit = try body.int("historyLimit", min: 0, max: 1_000_000) ?? 100
        let attempts = try body.int("maxDeliveryAttempts", min: 1, max: 1000) ?? 3
        var schema: JSONSchema?
        if let raw = body.value("schema"), !raw.isNull {
            do { schema = try JSONSchema(raw) } catch {
                throw RequestBody.invalid("schema", "is not a valid schema: \(error)")
            }
        }
        let config = ChannelConfig(name: name, type: type, historyLimit: historyLimit, schema: schema, maxDeliveryAttempts: attempts)
        try kernel.broker.createChannel(config)
        try await node.store.saveChannel(config)
        return .json(channelJSON(config), status: 201)
    }

    func publish(_ req: HTTPRequest) async throws -> HTTPResponse {
        let channel = try req.parameter("name")
        let body = try RequestBody(req)
        let payload = try body.required("payload")
        let from = try body.string("from") ?? "api"
        let priority = try body.int("priority") ?? 0
        let to = try body.string("to")
        let ttl = try body.milliseconds("ttlMs")
        guard kernel.broker.channel(channel) != nil else { throw BrokerError.channelNotFound(channel) }
        // Through the kernel, so every mailbox delivery is journaled before the 202.
        let message = try await kernel.publish(channel, from: from, payload: payload, priority: priority, to: to,
                                               ttl: ttl)
        return .json(APIJSON.message(message), status: 202)
    }

    func history(_ req: HTTPRequest) throws -> HTTPResponse {
        let channel = try req.parameter("name")
        let limit = try QueryParameters(req).int("limit", default: 100, min: 1, max: 1_000_000)
        guard kernel.broker.channel(channel) != nil else { throw BrokerError.channelNotFound(channel) }
        return .json(["messages": .array(kernel.broker.history(channel, limit: limit).map(APIJSON.message))])
    }

    // MARK: Memory

    func listMemory(_ req: HTTPRequest) throws -> HTTPResponse {
        let ns = try req.parameter("ns")
        let records = try kernel.memory.list(ns, prefix: QueryParameters(req).string("prefix") ?? "")
        return .json(["namespace": .string(ns), "entries": .array(records.map { APIJSON.memoryEntry(key: $0.key, $0.entry) })])
    }

    /// Memory keys may hold `/`: the server decodes `%2F` before routing, so a memory path longer
    /// than the routes takes everything after the namespace as the key (and a trailing
    /// `/increment` on a POST as the increment route). Nil for any other path.
    func routeLongMemoryPath(_ request: HTTPRequest) async -> HTTPResponse? {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count > 4, parts[0] == "v1", parts[1] == "memory" else { return nil }
        // [replicated-memory] the set routes are exact paths, left to the router
        if parts.count == 5, (request.method == "POST" && (parts[4] == "sadd" || parts[4] == "srem"))
            || ((request.method == "GET" || request.method == "HEAD") && parts[4] == "members") { return nil }
        var keyParts = Array(parts[3...])
        let route: Route
        switch request.method {
        // [replicated-memory] replicated namespaces go through ReplicatedMemory here too
        case "POST" where keyParts.last == "increment":
            keyParts.removeLast()
            route = { api, req in
                if let r = try api.replicated(req) { return try await api.incrementReplicated(r, req) }
                return try await api.incrementMemory(req)
            }
        case "GET", "HEAD": route = { api, req in
            if let r = try api.replicated(req) { return try await api.getReplicated(r, req) }
            return try api.getMemory(req)
        }
        case "PUT": route = { api, req in
            if let r = try api.replicated(req) { return try await api.setReplicated(r, req) }
            return try await api.setMemory(req)
        }
        case "DELETE": route = { api, req in
            if let r = try api.replicated(req) { return try await api.deleteReplicated(r, req) }
            return try await api.deleteMemory(req)
        }
        default:
            var response = HTTPError.methodNotAllowed(request.method, path: request.path).response
            response.headers["Allow"] = "DELETE, GET, POST, PUT"
            return response
        }
        var routed = request
        routed.pathParameters = ["ns": parts[2], "key": keyParts.joined(separator: "/")]
        do { return try await route(self, routed) } catch { return APIErrors.map(error).response }
    }

    func deleteMemory(_ req: HTTPRequest) async throws -> HTTPResponse {
        let deleted = try await kernel.memory.delete(try req.parameter("ns"), try req.parameter("key"))
        return .json(["deleted": .bool(deleted)])
    }

    func incrementMemory(_ req: HTTPRequest) async throws -> HTTPResponse {
        let body = try RequestBody(req)
        let key = try req.parameter("key")
        let value = try await kernel.memory.increment(try req.parameter("ns"), key, by: try body.number("by") ?? 1)
        return .json(["key": .string(key), "value": .number(value)])
    }

    func getMemory(_ req: HTTPRequest) throws -> HTTPResponse {
        let ns = try req.parameter("ns"), key = try req.parameter("key")
        guard let e = try kernel.memory.entry(ns, key) else {
            throw HTTPError(status: 404, code: "key_not_found", message: "no key '\(key)' in namespace '\(ns)'", field: "key")
        }
        return .json(APIJSON.memoryEntry(key: key, e))
    }

    func setMemory(_ req: HTTPRequest) async throws -> HTTPResponse {
        let ns = try req.parameter("ns"), key = try req.parameter("key")
        let body = try RequestBody(req)
        let value = try body.required("value")
        let ttl = try body.milliseconds("ttlMs")
        try await kernel.memory.set(ns, key, value, ttl: ttl)
        let entry = try kernel.memory.entry(ns, key)
            ?? MemoryEntry(value: value, expiresAt: nil, updatedAt: Date())
        return .json(APIJSON.memoryEntry(key: key, entry))
    }
}
