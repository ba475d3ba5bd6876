import Synchronization

/// The registry of tools and the one way to call them.
///
/// `invoke` checks, in this order: the tool exists, it is on the caller's allowlist, the caller's
/// permission is at least the tool's, every side effect of the tool is allowed to the caller, the
/// (tool, agent) rate limit has a token, the arguments satisfy the input schema. Only then does the
/// handler run, with the tool's timeout. Every call emits either one `tool.denied` event, or a
/// `tool.called` event followed by exactly one `tool.completed` or `tool.failed` event.
///
/// Thread-safe; the lock is never held while a handler runs or a schema is checked.
public final class ToolRouter: Sendable {
    /// Event source of every event the router emits.
    public static let eventSource = "tools"

    private struct BucketKey: Hashable {
        let tool: String
        let agent: String
    }

    private struct State {
        var tools: [String: ToolDefinition] = [:]
        var buckets: [BucketKey: TokenBucket] = [:]
        var byTool: [String: ToolUsage] = [:]
        var byToolAndAgent: [String: [String: ToolUsage]] = [:]
        var notFound: UInt64 = 0
        /// Bucket count at which full buckets are next dropped; doubles when pruning frees little,
        /// so that many active agents do not make every call scan the map.
        var pruneAt = ToolRouter.bucketPruneThreshold

        mutating func record(_ tool: String, _ agent: String, _ update: (inout ToolUsage) -> Void) {
            update(&byTool[tool, default: ToolUsage()])
            update(&byToolAndAgent[tool, default: [:]][agent, default: ToolUsage()])
        }
    }

    private let state = Mutex(State())
    private let nextCallID = Atomic<UInt64>(0)
    private let events: EventBus
    private let clock: @Sendable () -> ContinuousClock.Instant

    /// Buckets are pruned (full ones dropped) when their number passes this, bounding memory.
    fileprivate static let bucketPruneThreshold = 4096

    /// `clock` reads the time for rate limits and durations; tests inject one they move by hand.
    /// Timeouts run on real time.
    public init(events: EventBus, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.events = events
        self.clock = clock
    }

    /// Adds a tool. Throws `alreadyRegistered` for a taken name and `invalidDefinition` for an empty
    /// name, a rate limit below 1 call or over a non-positive interval, or a non-positive timeout.
    public func register(_ tool: ToolDefinition) throws(ToolError) {
        if tool.name.isEmpty { throw .invalidDefinition(tool: tool.name, reason: "the name is empty") }
        if let r = tool.rateLimit {
            if r.count < 1 { throw .invalidDefinition(tool: tool.name, reason: "rateLimit.count must be at least 1, got \(r.count)") }
            if r.per <= .zero { throw .invalidDefinition(tool: tool.name, reason: "rateLimit.per must be positive, got \(r.per)") }
        }
        if let t = tool.timeout, t <= .zero {
            throw .invalidDefinition(tool: tool.name, reason: "timeout must be positive, got \(t)")
        }
        let taken = state.withLock { s -> Bool in
            if s.tools[tool.name] != nil { return true }
            s.tools[tool.name] = tool
            return false
        }
        if taken { throw .alreadyRegistered(tool.name) }
        events.emit("tool.registered", source: Self.eventSource, data: tool.summary)
    }

    /// Removes a tool and its rate-limit state; calls already running finish. Its stats are kept.
    public func unregister(_ name: String) {
        let removed = state.withLock { s -> Bool in
            guard s.tools.removeValue(forKey: name) != nil else { return false }
            s.buckets = s.buckets.filter { $0.key.tool != name }
            return true
        }
        if removed { events.emit("tool.unregistered", source: Self.eventSource, data: ["tool": .string(name)]) }
    }

    /// The tool registered under `name`.
    public func tool(named name: String) -> ToolDefinition? { state.withLock { $0.tools[name] } }

    /// Every registered tool, sorted by name.
    public var tools: [ToolDefinition] {
        state.withLock { Array($0.tools.values) }.sorted { $0.name < $1.name }
    }

    /// The tools `caller` may call now (allowlist, permission and side effects; not rate limits).
    public func tools(availableTo caller: ToolCaller) -> [ToolDefinition] {
        tools.filter { Self.refusal(of: $0, for: caller) == nil }
    }

    /// Calls tool `name` with `arguments` on behalf of `caller`.
    ///
    /// Throws `ToolError` (every case but `alreadyRegistered`/`invalidDefinition`), or
    /// `CancellationError` when the calling task is cancelled while the handler runs.
    public func invoke(_ name: String, arguments: JSONValue, caller: ToolCaller) async throws -> JSONValue {
        let callID = nextCallID.wrappingAdd(1, ordering: .relaxed).newValue
        let now = clock()
        let admission = state.withLock { s -> Result<ToolDefinition, ToolError> in
            guard let tool = s.tools[name] else {
                s.notFound += 1
                return .failure(.notFound(name))
            }
            if let refusal = Self.refusal(of: tool, for: caller) {
                s.record(name, caller.agent) { $0.calls += 1; $0.denied += 1 }
                return .failure(refusal)
            }
            if let limit = tool.rateLimit {
                let key = BucketKey(tool: name, agent: caller.agent)
                var bucket = s.buckets[key] ?? TokenBucket(limit: limit, now: now)
                let wait = bucket.take(limit: limit, now: now)
                if s.buckets.count >= s.pruneAt, s.buckets[key] == nil {
                    let tools = s.tools
                    s.buckets = s.buckets.filter { entry in
                        guard let l = tools[entry.key.tool]?.rateLimit else { return false }
                        return !entry.value.isFull(limit: l, now: now)
                    }
                    s.pruneAt = max(Self.bucketPruneThreshold, s.buckets.count * 2)
                }
                s.buckets[key] = bucket
                if let wait {
                    s.record(name, caller.agent) { $0.calls += 1; $0.denied += 1; $0.rateLimited += 1 }
                    return .failure(.rateLimited(tool: name, agent: caller.agent, retryAfter: wait))
                }
            }
            return .success(tool)
        }
        let tool: ToolDefinition
        switch admission {
        case .failure(let error):
            deny(error, tool: name, caller: caller, callID: callID)
            throw error
        case .success(let t):
            tool = t
        }

        if let schema = tool.inputSchema {
            let violations = schema.validate(arguments)
            if !violations.isEmpty {
                let error = ToolError.invalidArguments(tool: name, violations: violations)
                state.withLock { $0.record(name, caller.agent) { $0.calls += 1; $0.denied += 1 } }
                deny(error, tool: name, caller: caller, callID: callID)
                throw error
            }
        }

        events.emit("tool.called", source: Self.eventSource,
                    data: .object(Self.eventData(tool: name, caller: caller, callID: callID)))
        let invocation = ToolInvocation(caller: caller, callID: callID)
        let started = clock()
        var outcome: Outcome
        do {
            let result: JSONValue
            if let timeout = tool.timeout {
                let handler = tool.handler
                result = try await TimeoutRace.run(timeout: timeout) { try await handler(arguments, invocation) }
            } else {
                result = try await tool.handler(arguments, invocation)
            }
            outcome = .result(result)
            if let schema = tool.outputSchema {
                let violations = schema.validate(result)
                if !violations.isEmpty {
                    outcome = .outputInvalid(violations.map(\.description).joined(separator: "; "))
                }
            }
        } catch is TimeoutRace.Expired {
            outcome = .timedOut
        } catch is CancellationError where Task.isCancelled {
            // The caller gave up: report cancellation as such rather than as a tool fault.
            outcome = .cancelled
        } catch {
            outcome = .handlerError(error)
        }
        let duration = max(.zero, clock() - started)
        return try finish(outcome, tool: name, caller: caller, callID: callID, duration: duration)
    }

    /// Rate-limit buckets held now (for tests of the memory bound).
    var rateLimitBucketCount: Int { state.withLock { $0.buckets.count } }

    /// Usage per tool and per (tool, agent).
    public func stats() -> ToolStats {
        state.withLock { s in
            ToolStats(registered: s.tools.count, byTool: s.byTool, byToolAndAgent: s.byToolAndAgent, notFound: s.notFound)
        }
    }

    // MARK: internals

    /// Why `caller` may not call `tool` at all, or nil when it may.
    private static func refusal(of tool: ToolDefinition, for caller: ToolCaller) -> ToolError? {
        if let allowlist = caller.allowlist, !allowlist.contains(tool.name) {
            return .notAllowed(tool: tool.name, agent: caller.agent)
        }
        if caller.permission < tool.permission {
            return .permissionDenied(tool: tool.name, required: tool.permission, granted: caller.permission)
        }
        // Sorted so that the effect named in the error does not depend on hashing order.
        for effect in SideEffect.allCases where tool.sideEffects.contains(effect) {
            if !effect.isHarmless, !caller.allowedSideEffects.contains(effect) {
                return .sideEffectDenied(tool: tool.name, effect: effect)
            }
        }
        return nil
    }

    /// How a call that got past the checks ended.
    private enum Outcome {
        case result(JSONValue)
        case handlerError(any Error)
        case timedOut
        case outputInvalid(String)
        case cancelled
    }

    private func finish(_ outcome: Outcome, tool name: String, caller: ToolCaller,
                        callID: UInt64, duration: Duration) throws -> JSONValue {
        let thrown: any Error
        let reason: String
        switch outcome {
        case .result(let result):
            state.withLock { $0.record(name, caller.agent) { $0.calls += 1; $0.completed += 1; $0.totalDuration += duration } }
            events.emit("tool.completed", source: Self.eventSource,
                        data: Self.eventData(tool: name, caller: caller, callID: callID, duration: duration))
            return result
        case .timedOut:
            thrown = ToolError.timedOut(tool: name); reason = "timed-out"
        case .outputInvalid(let list):
            thrown = ToolError.failed(tool: name, message: "result breaks the output schema: \(list)"); reason = "output-invalid"
        case .cancelled:
            thrown = CancellationError(); reason = "cancelled"
        case .handlerError(let error):
            thrown = ToolError.failed(tool: name, message: String(describing: error)); reason = "handler-error"
        }
        let timedOut = reason == "timed-out"
        state.withLock {
            $0.record(name, caller.agent) {
                $0.calls += 1; $0.failures += 1; $0.totalDuration += duration
                if timedOut { $0.timedOut += 1 }
            }
        }
        events.emit("tool.failed", source: Self.eventSource, data: {
            var data = Self.eventData(tool: name, caller: caller, callID: callID)
            data["durationMs"] = .number(ContractsTime.milliseconds(duration))
            data["reason"] = .string(reason)
            data["error"] = .string(String(describing: thrown))
            return .object(data)
        }())
        throw thrown
    }

    private func deny(_ error: ToolError, tool: String, caller: ToolCaller, callID: UInt64) {
        events.emit("tool.denied", source: Self.eventSource, data: {
            var data = Self.eventData(tool: tool, caller: caller, callID: callID)
            data["reason"] = .string(error.code)
            data["error"] = .string(error.description)
            if case .rateLimited(_, _, let retryAfter) = error {
                data["retryAfterMs"] = .number(ContractsTime.milliseconds(retryAfter))
            }
            return .object(data)
        }())
    }

    private static func eventData(tool: String, caller: ToolCaller, callID: UInt64, duration: Duration) -> JSONValue {
        var data = eventData(tool: tool, caller: caller, callID: callID)
        data["durationMs"] = .number(ContractsTime.milliseconds(duration))
        return .object(data)
    }

    private static func eventData(tool: String, caller: ToolCaller, callID: UInt64) -> [String: JSONValue] {
        var data: [String: JSONValue] = [
            "tool": .string(tool), "agent": .string(caller.agent), "callID": .number(Double(callID)),
        ]
        if let pid = caller.processID { data["processID"] = .string(pid) }
        return data
    }
}
