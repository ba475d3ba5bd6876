/// Usage counters of one tool, or of one tool by one agent.
public struct ToolUsage: Sendable, Hashable, Codable {
    /// Every attempt to call: completed + failed + denied.
    public var calls: UInt64 = 0
    /// Calls whose handler returned a valid result.
    public var completed: UInt64 = 0
    /// Calls that ran and failed: the handler threw, timed out, was cancelled or broke the output schema.
    public var failures: UInt64 = 0
    /// Calls refused before the handler ran (allowlist, permission, side effect, rate limit, arguments).
    public var denied: UInt64 = 0
    /// Of `denied`, those refused by the rate limit.
    public var rateLimited: UInt64 = 0
    /// Of `failures`, those that ran past the timeout.
    public var timedOut: UInt64 = 0
    /// Time spent in calls that ran (completed or failed), by the router's clock.
    public var totalDuration: Duration = .zero

    public init() {}

    /// Average duration of calls that ran, or nil before the first one.
    public var averageDuration: Duration? {
        let ran = completed + failures
        return ran == 0 ? nil : totalDuration / Double(ran)
    }
}

/// Usage of every tool, and of every tool by every agent.
public struct ToolStats: Sendable, Hashable, Codable {
    /// Tools registered now.
    public var registered: Int
    /// By tool name (kept after a tool is unregistered).
    public var byTool: [String: ToolUsage]
    /// By tool name, then agent name.
    public var byToolAndAgent: [String: [String: ToolUsage]]
    /// Calls naming no registered tool (not kept per name, so arbitrary names cannot grow the map).
    public var notFound: UInt64

    public init(registered: Int = 0, byTool: [String: ToolUsage] = [:], byToolAndAgent: [String: [String: ToolUsage]] = [:], notFound: UInt64 = 0) {
        self.registered = registered
        self.byTool = byTool
        self.byToolAndAgent = byToolAndAgent
        self.notFound = notFound
    }

    /// The usage of `tool` by `agent`, zero when it never called.
    public func usage(tool: String, agent: String) -> ToolUsage { byToolAndAgent[tool]?[agent] ?? ToolUsage() }

    /// Totals over every tool.
    public var total: ToolUsage {
        var t = ToolUsage()
        for u in byTool.values {
            t.calls += u.calls; t.completed += u.completed; t.failures += u.failures; t.denied += u.denied
            t.rateLimited += u.rateLimited; t.timedOut += u.timedOut; t.totalDuration += u.totalDuration
        }
        return t
    }
}
