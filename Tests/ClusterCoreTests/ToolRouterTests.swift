import Foundation
import Testing
@testable import ClusterCore

@Suite struct ToolRouterTests {
    let caller = ToolCaller(agent: "alpha", processID: "p-1", permission: .admin,
                            allowedSideEffects: Set(SideEffect.allCases))

    @Test func registerListLookupUnregister() throws {
        let router = ToolRouter(events: EventBus())
        try router.register(echoTool("b"))
        try router.register(echoTool("a"))
        #expect(router.tools.map(\.name) == ["a", "b"])
        #expect(router.tool(named: "a")?.description == "returns its arguments")
        #expect(router.tool(named: "zzz") == nil)
        #expect(throws: ToolError.alreadyRegistered("a")) { try router.register(echoTool("a")) }
        router.unregister("a")
        router.unregister("a")
        #expect(router.tools.map(\.name) == ["b"])
        #expect(router.stats().registered == 1)
    }

    @Test func registerRejectsBadDefinitions() {
        let router = ToolRouter(events: EventBus())
        #expect(throws: ToolError.self) { try router.register(echoTool("")) }
        #expect(throws: ToolError.invalidDefinition(tool: "r", reason: "rateLimit.count must be at least 1, got 0")) {
            try router.register(echoTool("r", rateLimit: RateLimit(count: 0, per: .seconds(1))))
        }
        #expect(throws: ToolError.self) { try router.register(echoTool("p", rateLimit: RateLimit(count: 1, per: .zero))) }
        var t = echoTool("t")
        t.timeout = .seconds(-1)
        #expect(throws: ToolError.self) { try router.register(t) }
        #expect(router.tools.isEmpty)
    }

    @Test func invokeRunsHandlerAndEmitsCalledThenCompleted() async throws {
        let events = EventBus()
        let sub = events.subscribe("tool.*")
        let router = ToolRouter(events: events)
        let seen = ToolTestCounter()
        try router.register(ToolDefinition(name: "add") { args, inv in
            #expect(inv.caller.agent == "alpha")
            #expect(inv.caller.processID == "p-1")
            seen.bump()
            return .number((args["a"]?.doubleValue ?? 0) + (args["b"]?.doubleValue ?? 0))
        })
        let result = try await router.invoke("add", arguments: ["a": 2, "b": 3], caller: caller)
        #expect(result == 5)
        #expect(seen.value == 1)
        let got = await drainToolEvents(sub).filter { $0.type != "tool.registered" }
        #expect(got.map(\.type) == ["tool.called", "tool.completed"])
        #expect(got.allSatisfy { $0.source == "tools" })
        #expect(got[1].data["tool"] == "add")
        #expect(got[1].data["agent"] == "alpha")
        #expect(got[1].data["processID"] == "p-1")
        #expect(got[1].data["durationMs"]?.doubleValue != nil)
        #expect(got[0].data["callID"] == got[1].data["callID"])
    }

    @Test func notFoundIsDeniedAndCountedWithoutGrowingStats() async throws {
        let events = EventBus()
        let sub = events.subscribe("tool.denied")
        let router = ToolRouter(events: events)
        await #expect(throws: ToolError.notFound("ghost")) { try await router.invoke("ghost", arguments: .null, caller: caller) }
        let got = await drainToolEvents(sub)
        #expect(got.count == 1)
        #expect(got.first?.data["reason"] == "not-found")
        #expect(got.first?.data["tool"] == "ghost")
        #expect(router.stats().notFound == 1)
        #expect(router.stats().byTool.isEmpty)
    }

    @Test func allowlist() async throws {
        let router = ToolRouter(events: EventBus())
        try router.register(echoTool("echo"))
        var c = caller
        c.allowlist = nil
        #expect(try await router.invoke("echo", arguments: 1, caller: c) == 1)
        c.allowlist = ["echo", "other"]
        #expect(try await router.invoke("echo", arguments: 2, caller: c) == 2)
        c.allowlist = []
        await #expect(throws: ToolError.notAllowed(tool: "echo", agent: "alpha")) {
            try await router.invoke("echo", arguments: 3, caller: c)
        }
        c.allowlist = ["other"]
        await #expect(throws: ToolError.notAllowed(tool: "echo", agent: "alpha")) {
            try await router.invoke("echo", arguments: 3, caller: c)
        }
        #expect(router.tools(availableTo: c).isEmpty)
    }

    @Test func permissionLevels() async throws {
        #expect(PermissionLevel.allCases.sorted() == [.none, .read, .write, .execute, .admin])
        #expect(PermissionLevel.read < .write && PermissionLevel.admin > .execute)
        let router = ToolRouter(events: EventBus())
        let counter = ToolTestCounter()
        try router.register(echoTool("deploy", permission: .execute, counter: counter))
        for granted in PermissionLevel.allCases {
            let c = ToolCaller(agent: "a", permission: granted)
            if granted >= .execute {
                #expect(try await router.invoke("deploy", arguments: "x", caller: c) == "x")
            } else {
                await #expect(throws: ToolError.permissionDenied(tool: "deploy", required: .execute, granted: granted)) {
                    try await router.invoke("deploy", arguments: "x", caller: c)
                }
            }
        }
        #expect(counter.value == 2)
        #expect(router.stats().byTool["deploy"]?.denied == 3)
    }

    @Test func sideEffects() async throws {
        let router = ToolRouter(events: EventBus())
        try router.register(echoTool("fetch", sideEffects: [.network, .readOnly]))
        try router.register(echoTool("shell", sideEffects: [.filesystem, .process]))
        try router.register(echoTool("pure", sideEffects: [.none, .readOnly]))
        let none = ToolCaller(agent: "a", permission: .admin, allowedSideEffects: [])
        #expect(try await router.invoke("pure", arguments: 1, caller: none) == 1)
        await #expect(throws: ToolError.sideEffectDenied(tool: "fetch", effect: .network)) {
            try await router.invoke("fetch", arguments: 1, caller: none)
        }
        let net = ToolCaller(agent: "a", permission: .admin, allowedSideEffects: [.network])
        #expect(try await router.invoke("fetch", arguments: 2, caller: net) == 2)
        let fsOnly = ToolCaller(agent: "a", permission: .admin, allowedSideEffects: [.filesystem])
        await #expect(throws: ToolError.sideEffectDenied(tool: "shell", effect: .process)) {
            try await router.invoke("shell", arguments: 1, caller: fsOnly)
        }
        let both = ToolCaller(agent: "a", permission: .admin, allowedSideEffects: [.filesystem, .process])
        #expect(try await router.invoke("shell", arguments: 3, caller: both) == 3)
        #expect(router.tools(availableTo: net).map(\.name) == ["fetch", "pure"])
        #expect(SideEffect.writesMemory.rawValue == "writes-memory")
    }

    @Test func invalidArgumentsAreDeniedBeforeTheHandler() async throws {
        let events = EventBus()
        let sub = events.subscribe("tool.*")
        let router = ToolRouter(events: events)
        let counter = ToolTestCounter()
        let schema = try JSONSchema(json: #"{"type": "object", "required": ["path"], "properties": {"path": {"type": "string"}, "n": {"type": "integer"}}}"#)
        try router.register(echoTool("read", schema: schema, counter: counter))
        do {
            _ = try await router.invoke("read", arguments: ["n": "x"], caller: caller)
            Issue.record("expected invalid arguments")
        } catch let ToolError.invalidArguments(tool, violations) {
            #expect(tool == "read")
            #expect(Set(violations.map(\.path)) == ["$.path", "$.n"])
        }
        #expect(counter.value == 0)
        #expect(try await router.invoke("read", arguments: ["path": "/x"], caller: caller) == ["path": "/x"])
        let got = await drainToolEvents(sub).filter { $0.type != "tool.registered" }
        #expect(got.map(\.type) == ["tool.denied", "tool.called", "tool.completed"])
        #expect(got[0].data["reason"] == "invalid-arguments")
        #expect(got[0].data["error"]?.stringValue?.contains("$.path") == true)
        let usage = router.stats().usage(tool: "read", agent: "alpha")
        #expect(usage.calls == 2 && usage.denied == 1 && usage.completed == 1)
    }

    @Test func handlerErrorFailsTheCall() async throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "disk on fire" } }
        let events = EventBus()
        let sub = events.subscribe("tool.*")
        let router = ToolRouter(events: events)
        try router.register(ToolDefinition(name: "bad") { _, _ in throw Boom() })
        await #expect(throws: ToolError.failed(tool: "bad", message: "disk on fire")) {
            try await router.invoke("bad", arguments: .null, caller: caller)
        }
        let got = await drainToolEvents(sub).filter { $0.type != "tool.registered" }
        #expect(got.map(\.type) == ["tool.called", "tool.failed"])
        #expect(got[1].data["reason"] == "handler-error")
        #expect(got[1].data["error"]?.stringValue?.contains("disk on fire") == true)
        #expect(got[1].data["durationMs"] != nil)
        #expect(router.stats().byTool["bad"]?.failures == 1)
    }

    @Test func resultBreakingOutputSchemaFails() async throws {
        let router = ToolRouter(events: EventBus())
        try router.register(ToolDefinition(name: "count", outputSchema: try JSONSchema(json: #"{"type": "integer"}"#)) { args, _ in args })
        #expect(try await router.invoke("count", arguments: 3, caller: caller) == 3)
        do {
            _ = try await router.invoke("count", arguments: "three", caller: caller)
            Issue.record("expected failure")
        } catch let ToolError.failed(tool, message) {
            #expect(tool == "count")
            #expect(message.contains("output schema"))
            #expect(message.contains("expected integer, got string"))
        }
    }

    @Test func timeoutCancelsAHandlerThatHonoursCancellation() async throws {
        let events = EventBus()
        let sub = events.subscribe("tool.failed")
        let router = ToolRouter(events: events)
        let cancelled = ToolTestCounter()
        try router.register(ToolDefinition(name: "slow", timeout: .milliseconds(20)) { _, _ in
            do { try await Task.sleep(for: .seconds(3600)) } catch { cancelled.bump(); throw error }
            return "never"
        })
        await #expect(throws: ToolError.timedOut(tool: "slow")) {
            try await router.invoke("slow", arguments: .null, caller: caller)
        }
        let got = await drainToolEvents(sub)
        #expect(got.first?.data["reason"] == "timed-out")
        let usage = router.stats().byTool["slow"]
        #expect(usage?.timedOut == 1 && usage?.failures == 1)
        // The handler saw the cancellation (poll with a deadline; timing does not decide the outcome).
        let deadline = ContinuousClock.now + .seconds(10)
        while cancelled.value == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(cancelled.value == 1)
    }

    @Test func timeoutDoesNotWaitForAHandlerThatIgnoresCancellation() async throws {
        let router = ToolRouter(events: EventBus())
        let gate = ToolTestGate()
        defer { gate.release() }
        try router.register(ToolDefinition(name: "stuck", timeout: .milliseconds(20)) { _, _ in
            await gate.wait()
            return "late"
        })
        await #expect(throws: ToolError.timedOut(tool: "stuck")) {
            try await router.invoke("stuck", arguments: .null, caller: caller)
        }
    }

    @Test func handlerThrowingToolErrorsIsAFailureOfTheOuterTool() async throws {
        let events = EventBus()
        let sub = events.subscribe("tool.failed")
        let router = ToolRouter(events: events)
        try router.register(ToolDefinition(name: "outer", timeout: .seconds(60)) { _, _ in
            throw ToolError.timedOut(tool: "inner")
        })
        await #expect(throws: ToolError.failed(tool: "outer", message: #"tool "inner" timed out"#)) {
            try await router.invoke("outer", arguments: .null, caller: caller)
        }
        #expect(await drainToolEvents(sub).first?.data["reason"] == "handler-error")
        #expect(router.stats().byTool["outer"]?.timedOut == 0)
    }

    @Test func fastHandlerBeatsItsTimeout() async throws {
        let router = ToolRouter(events: EventBus())
        try router.register(ToolDefinition(name: "quick", timeout: .seconds(60)) { args, _ in args })
        #expect(try await router.invoke("quick", arguments: "ok", caller: caller) == "ok")
        #expect(router.stats().byTool["quick"]?.completed == 1)
    }

    @Test func callerCancellationEndsTheCall() async throws {
        let router = ToolRouter(events: EventBus())
        let gate = ToolTestGate()
        defer { gate.release() }
        for (name, timeout) in [("withTimeout", Duration.seconds(3600)), ("plain", nil)] as [(String, Duration?)] {
            try router.register(ToolDefinition(name: name, timeout: timeout) { _, _ in
                try await Task.sleep(for: .seconds(3600))
                return "never"
            })
            let c = caller
            let task = Task { try await router.invoke(name, arguments: .null, caller: c) }
            let deadline = ContinuousClock.now + .seconds(10)
            while router.stats().byTool[name] == nil, ContinuousClock.now < deadline {
                task.cancel()
                try await Task.sleep(for: .milliseconds(5))
            }
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(router.stats().byTool[name]?.failures == 1)
        }
    }

    @Test func statsPerToolAndAgentWithInjectedClock() async throws {
        let clock = ToolTestClock()
        let router = ToolRouter(events: EventBus(), clock: clock.read)
        try router.register(ToolDefinition(name: "work") { args, _ in
            clock.advance(.milliseconds(3))
            if args == "fail" { throw CancellationError() }
            return args
        })
        try router.register(echoTool("admin-only", permission: .admin))
        let a = ToolCaller(agent: "a", permission: .read)
        let b = ToolCaller(agent: "b", permission: .read)
        _ = try await router.invoke("work", arguments: 1, caller: a)
        _ = try await router.invoke("work", arguments: 2, caller: a)
        _ = try? await router.invoke("work", arguments: "fail", caller: b)
        _ = try? await router.invoke("admin-only", arguments: 1, caller: b)
        let s = router.stats()
        #expect(s.registered == 2)
        let work = try #require(s.byTool["work"])
        #expect(work.calls == 3 && work.completed == 2 && work.failures == 1 && work.denied == 0)
        #expect(work.totalDuration == .milliseconds(9))
        #expect(work.averageDuration == .milliseconds(3))
        #expect(s.usage(tool: "work", agent: "a").completed == 2)
        #expect(s.usage(tool: "work", agent: "a").totalDuration == .milliseconds(6))
        #expect(s.usage(tool: "work", agent: "b").failures == 1)
        #expect(s.usage(tool: "admin-only", agent: "b").denied == 1)
        #expect(s.usage(tool: "admin-only", agent: "a") == ToolUsage())
        #expect(s.total.calls == 4)
        let json = try JSONValue.parse(JSONEncoder().encode(s))
        #expect(json["byTool"]?["work"]?["calls"] == 3)
        // Stats outlive the tool.
        router.unregister("work")
        #expect(router.stats().byTool["work"]?.calls == 3)
    }

    @Test func concurrentAndNestedCallsDoNotDeadlock() async throws {
        let router = ToolRouter(events: EventBus())
        try router.register(echoTool("inner"))
        try router.register(ToolDefinition(name: "outer") { args, inv in
            // A handler calling the router proves no lock is held while it runs.
            try await router.invoke("inner", arguments: args, caller: inv.caller)
        })
        let c = caller
        let results = try await withThrowingTaskGroup(of: JSONValue.self) { group in
            for i in 0..<200 { group.addTask { try await router.invoke("outer", arguments: .number(Double(i)), caller: c) } }
            return try await group.reduce(into: Set<JSONValue>()) { $0.insert($1) }
        }
        #expect(results.count == 200)
        #expect(router.stats().byTool["inner"]?.completed == 200)
        #expect(router.stats().byTool["outer"]?.completed == 200)
    }

    @Test func callIDsAreUniqueAndErrorsReadWell() async throws {
        let router = ToolRouter(events: EventBus())
        try router.register(ToolDefinition(name: "id") { _, inv in .number(Double(inv.callID)) })
        let first = try await router.invoke("id", arguments: .null, caller: caller)
        let second = try await router.invoke("id", arguments: .null, caller: caller)
        #expect(first != second)
        let errors: [ToolError] = [
            .notFound("x"), .notAllowed(tool: "x", agent: "a"), .permissionDenied(tool: "x", required: .write, granted: .read),
            .sideEffectDenied(tool: "x", effect: .network), .rateLimited(tool: "x", agent: "a", retryAfter: .milliseconds(1500)),
            .invalidArguments(tool: "x", violations: [SchemaViolation(path: "$.a", message: "bad")]), .timedOut(tool: "x"),
            .failed(tool: "x", message: "m"), .alreadyRegistered("x"), .invalidDefinition(tool: "x", reason: "r"),
        ]
        #expect(Set(errors.map(\.code)).count == errors.count)
        #expect(errors.allSatisfy { $0.description.contains("\"x\"") })
        #expect(ToolError.rateLimited(tool: "x", agent: "a", retryAfter: .milliseconds(1500)).description.contains("1500 ms"))
        #expect(ToolError.permissionDenied(tool: "x", required: .write, granted: .read).description.contains("needs permission write"))
    }

    @Test func summaryDescribesTheToolWithoutItsCode() throws {
        var t = echoTool("fetch", permission: .read, sideEffects: [.network, .readOnly], rateLimit: RateLimit(count: 5, per: .seconds(1)),
                         schema: try JSONSchema(json: #"{"type": "string"}"#))
        t.timeout = .milliseconds(250)
        #expect(t.summary == [
            "name": "fetch", "description": "returns its arguments", "permission": "read",
            "sideEffects": ["network", "read-only"], "inputSchema": ["type": "string"],
            "rateLimit": ["count": 5, "perMs": 1000], "timeoutMs": 250,
        ])
    }
}
