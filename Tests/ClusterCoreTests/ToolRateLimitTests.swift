import Foundation
import Testing
@testable import ClusterCore

@Suite struct ToolRateLimitTests {
    let a = ToolCaller(agent: "a")
    let b = ToolCaller(agent: "b")

    private func retryAfter(_ router: ToolRouter, _ tool: String, _ caller: ToolCaller) async -> Duration? {
        do {
            _ = try await router.invoke(tool, arguments: .null, caller: caller)
            return nil
        } catch let ToolError.rateLimited(t, agent, wait) {
            #expect(t == tool && agent == caller.agent)
            return wait
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test func burstThenRefillWithInjectedClock() async throws {
        let clock = ToolTestClock()
        let events = EventBus()
        let sub = events.subscribe("tool.denied")
        let router = ToolRouter(events: events, clock: clock.read)
        try router.register(echoTool("search", rateLimit: RateLimit(count: 2, per: .seconds(10))))
        #expect(await retryAfter(router, "search", a) == nil)
        #expect(await retryAfter(router, "search", a) == nil)
        // Two tokens per 10 s: the next one comes 5 s after the bucket ran dry.
        #expect(await retryAfter(router, "search", a) == .seconds(5))
        clock.advance(.seconds(2))
        #expect(await retryAfter(router, "search", a) == .seconds(3))
        clock.advance(.seconds(3))
        #expect(await retryAfter(router, "search", a) == nil)
        #expect(await retryAfter(router, "search", a) == .seconds(5))
        // A full interval refills the whole burst, and no more than that.
        clock.advance(.seconds(60))
        #expect(await retryAfter(router, "search", a) == nil)
        #expect(await retryAfter(router, "search", a) == nil)
        #expect(await retryAfter(router, "search", a) != nil)

        let denied = await drainToolEvents(sub)
        #expect(denied.count == 4)
        #expect(denied.first?.data["reason"] == "rate-limited")
        #expect(denied.first?.data["retryAfterMs"] == 5000)
        let usage = router.stats().usage(tool: "search", agent: "a")
        #expect(usage.rateLimited == 4 && usage.denied == 4 && usage.completed == 5 && usage.calls == 9)
    }

    @Test func limitsArePerToolAndAgent() async throws {
        let clock = ToolTestClock()
        let router = ToolRouter(events: EventBus(), clock: clock.read)
        try router.register(echoTool("x", rateLimit: RateLimit(count: 1, per: .seconds(1))))
        try router.register(echoTool("y", rateLimit: RateLimit(count: 1, per: .seconds(1))))
        try router.register(echoTool("free"))
        #expect(await retryAfter(router, "x", a) == nil)
        #expect(await retryAfter(router, "x", a) == .seconds(1))
        #expect(await retryAfter(router, "x", b) == nil)      // another agent has its own bucket
        #expect(await retryAfter(router, "y", a) == nil)      // another tool too
        for _ in 0..<50 { #expect(await retryAfter(router, "free", a) == nil) }
        clock.advance(.seconds(1))
        #expect(await retryAfter(router, "x", a) == nil)
    }

    @Test func unregisterResetsTheBucket() async throws {
        let clock = ToolTestClock()
        let router = ToolRouter(events: EventBus(), clock: clock.read)
        try router.register(echoTool("x", rateLimit: RateLimit(count: 1, per: .seconds(100))))
        #expect(await retryAfter(router, "x", a) == nil)
        #expect(await retryAfter(router, "x", a) != nil)
        router.unregister("x")
        try router.register(echoTool("x", rateLimit: RateLimit(count: 1, per: .seconds(100))))
        #expect(await retryAfter(router, "x", a) == nil)
    }

    @Test func deniedCallsDoNotSpendTokens() async throws {
        let clock = ToolTestClock()
        let router = ToolRouter(events: EventBus(), clock: clock.read)
        try router.register(echoTool("w", permission: .write, rateLimit: RateLimit(count: 1, per: .seconds(1))))
        let weak = ToolCaller(agent: "a", permission: .read)
        for _ in 0..<3 {
            await #expect(throws: ToolError.permissionDenied(tool: "w", required: .write, granted: .read)) {
                try await router.invoke("w", arguments: .null, caller: weak)
            }
        }
        let strong = ToolCaller(agent: "a", permission: .write)
        #expect(await retryAfter(router, "w", strong) == nil)
    }

    @Test func manyAgentsStayBounded() async throws {
        let clock = ToolTestClock()
        let router = ToolRouter(events: EventBus(), clock: clock.read)
        try router.register(echoTool("x", rateLimit: RateLimit(count: 1, per: .milliseconds(1))))
        for i in 0..<5000 {
            _ = try await router.invoke("x", arguments: .null, caller: ToolCaller(agent: "agent-\(i)"))
            clock.advance(.milliseconds(1))
        }
        #expect(router.stats().byTool["x"]?.completed == 5000)
        // Buckets that refilled completely are dropped once there are many.
        #expect(router.rateLimitBucketCount <= 4096)
    }

    @Test func rateLimitCodableInMilliseconds() throws {
        let r = RateLimit(count: 3, per: .milliseconds(1500))
        let json = try JSONValue.parse(JSONEncoder().encode(r))
        #expect(json == ["count": 3, "perMs": 1500])
        #expect(try JSONDecoder().decode(RateLimit.self, from: JSONEncoder().encode(r)) == r)
    }

    @Test func tokenBucketFractionalRefill() {
        let limit = RateLimit(count: 3, per: .seconds(1))
        let t0 = ContinuousClock.now
        var bucket = TokenBucket(limit: limit, now: t0)
        for _ in 0..<3 { #expect(bucket.take(limit: limit, now: t0) == nil) }
        let wait = bucket.take(limit: limit, now: t0)
        #expect(wait != nil)
        if let wait {
            #expect(abs(ContractsTime.milliseconds(wait) - 1000.0 / 3) < 0.001)
            #expect(bucket.take(limit: limit, now: t0 + wait) == nil)
        }
        #expect(!bucket.isFull(limit: limit, now: t0))
        #expect(bucket.isFull(limit: limit, now: t0 + .seconds(2)))
    }
}
