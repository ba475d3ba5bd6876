import AgentVMTestKit
import Foundation
import Synchronization
import Testing
@testable import ClusterCore

/// Records backoff waits instead of waiting, so retry tests never depend on the clock.
final class RecordedSleeps: Sendable {
    private let waits = Mutex<[Duration]>([])
    var all: [Duration] { waits.withLock { $0 } }
    var sleep: @Sendable (Duration) async throws -> Void {
        { d in self.waits.withLock { $0.append(d) } }
    }
}

/// Fails the first `failures` calls, then returns the call number.
final class FailingTimes: Sendable {
    private let calls = Atomic<Int>(0)
    let failures: Int
    init(_ failures: Int) { self.failures = failures }
    var count: Int { calls.load(ordering: .relaxed) }
    func call() throws -> JSONValue {
        let n = calls.wrappingAdd(1, ordering: .relaxed).newValue
        if n <= failures { throw SinkFailure(n: n) }
        return .number(Double(n))
    }
}

/// Sleeps far longer than any test; only cancellation ends it early.
@Sendable func sleepUntilCancelled(_: [String: TaskResult]) async throws -> JSONValue {
    try await Task.sleep(for: .seconds(600))
    return "woke"
}

@Suite struct SchedulerTests {
    @Test func sequentialRunsInDependencyThenInputOrder() async throws {
        let order = Recorder<String>()
        let tasks = ["a", "b", "c"].map { id in
            ScheduledTask(id: id, dependsOn: id == "a" ? ["c"] : []) { _ in
                order.append(id)
                return .string(id.uppercased())
            }
        }
        let results = try await Scheduler().run(tasks, strategy: .sequential)
        #expect(order.all == ["b", "c", "a"])
        #expect(results.map(\.id) == ["a", "b", "c"])
        #expect(results.map(\.output) == ["A", "B", "C"])
        #expect(results.allSatisfy { $0.status == .succeeded && $0.attempts == 1 })
    }

    @Test func sequentialStopsAtTheFirstFailure() async throws {
        let ran = Recorder<String>()
        let tasks = [
            ScheduledTask(id: "one") { _ in ran.append("one"); return 1 },
            ScheduledTask(id: "two") { _ in ran.append("two"); throw SinkFailure(n: 2) },
            ScheduledTask(id: "three") { _ in ran.append("three"); return 3 },
        ]
        let results = try await Scheduler().run(tasks, strategy: .sequential)
        #expect(ran.all == ["one", "two"])
        #expect(results.map(\.status) == [.succeeded, .failed, .cancelled])
        #expect(results[1].error == "sink failure #2")
        #expect(results[2].error?.contains("'two'") == true)
        #expect(results[2].attempts == 0)
    }

    @Test func dependentsSeeTheirDependenciesResults() async throws {
        let tasks = [
            ScheduledTask(id: "sum", dependsOn: ["x", "y"]) { r in
                .number((r["x"]?.output?.doubleValue ?? 0) + (r["y"]?.output?.doubleValue ?? 0))
            },
            ScheduledTask(id: "x") { _ in 2 },
            ScheduledTask(id: "y") { _ in 40 },
        ]
        let results = try await Scheduler().run(tasks, strategy: .parallel)
        #expect(results[0].output == 42)
    }

    @Test func parallelRunsTasksConcurrently() async throws {
        // Each task waits for the other to have started: only a truly concurrent run lets both finish.
        let started = Atomic<Int>(0)
        let tasks = ["a", "b"].map { id in
            ScheduledTask(id: id, timeout: .seconds(30)) { _ in
                started.wrappingAdd(1, ordering: .relaxed)
                let both = await eventually { started.load(ordering: .relaxed) == 2 }
                if !both { throw SinkFailure(n: 0) }
                return .string(id)
            }
        }
        let results = try await Scheduler().run(tasks, strategy: .parallel, maxConcurrency: 2)
        #expect(results.map(\.status) == [.succeeded, .succeeded])
    }

    @Test func parallelNeverExceedsMaxConcurrency() async throws {
        let current = Atomic<Int>(0), peak = Atomic<Int>(0)
        let tasks = (0..<12).map { i in
            ScheduledTask(id: "t\(i)") { _ in
                let now = current.wrappingAdd(1, ordering: .relaxed).newValue
                var seen = peak.load(ordering: .relaxed)
                while now > seen {
                    let (done, actual) = peak.compareExchange(expected: seen, desired: now, ordering: .relaxed)
                    if done { break }
                    seen = actual
                }
                try await Task.sleep(for: .milliseconds(2))
                current.wrappingSubtract(1, ordering: .relaxed)
                return .number(Double(i))
            }
        }
        let results = try await Scheduler().run(tasks, strategy: .parallel, maxConcurrency: 3)
        #expect(results.allSatisfy { $0.status == .succeeded })
        #expect(peak.load(ordering: .relaxed) <= 3)
        #expect(peak.load(ordering: .relaxed) >= 1)
    }

    @Test func aFailureSkipsOnlyItsDependentsTransitively() async throws {
        let tasks = [
            ScheduledTask(id: "bad") { _ in throw SinkFailure(n: 1) },
            ScheduledTask(id: "child", dependsOn: ["bad"]) { _ in 1 },
            ScheduledTask(id: "grandchild", dependsOn: ["child"]) { _ in 2 },
            ScheduledTask(id: "free") { _ in 3 },
        ]
        let results = try await Scheduler().run(tasks, strategy: .parallel)
        #expect(results.map(\.status) == [.failed, .skipped, .skipped, .succeeded])
        #expect(results[1].error == "dependency 'bad' did not succeed (failed)")
        #expect(results[2].error == "dependency 'child' did not succeed (skipped)")
        #expect(results[1].attempts == 0)
    }

    @Test func raceFirstSuccessCancelsTheRest() async throws {
        let tasks = [
            ScheduledTask(id: "slow1", run: sleepUntilCancelled),
            ScheduledTask(id: "fast") { _ in "won" },
            ScheduledTask(id: "slow2", run: sleepUntilCancelled),
            ScheduledTask(id: "queued", run: sleepUntilCancelled),
        ]
        let results = try await Scheduler().run(tasks, strategy: .race, maxConcurrency: 3)
        #expect(results.map(\.status) == [.cancelled, .succeeded, .cancelled, .cancelled])
        #expect(results[1].output == "won")
        #expect(results[0].error?.contains("'fast' won the race") == true)
        #expect(results[3].attempts == 0)
    }

    @Test func raceWithNoSuccessFailsEveryTask() async throws {
        let tasks = (0..<3).map { i in ScheduledTask(id: "t\(i)") { _ in throw SinkFailure(n: i) } }
        let results = try await Scheduler().run(tasks, strategy: .race)
        #expect(results.map(\.status) == [.failed, .failed, .failed])
        #expect(results.map(\.error) == ["sink failure #0", "sink failure #1", "sink failure #2"])
    }

    @Test func conditionalSkipsOnFalseAndSkippingPropagates() async throws {
        let ran = Recorder<String>()
        let tasks = [
            ScheduledTask(id: "probe") { _ in ran.append("probe"); return "cold" },
            ScheduledTask(id: "ifHot", condition: { $0["probe"]?.output == "hot" }) { _ in ran.append("ifHot"); return 1 },
            ScheduledTask(id: "ifCold", condition: { $0["probe"]?.output == "cold" }) { _ in ran.append("ifCold"); return 2 },
            ScheduledTask(id: "afterHot", dependsOn: ["ifHot"]) { _ in ran.append("afterHot"); return 3 },
            ScheduledTask(id: "broken") { _ in throw SinkFailure(n: 9) },
            ScheduledTask(id: "last") { _ in ran.append("last"); return 4 },
        ]
        let results = try await Scheduler().run(tasks, strategy: .conditional)
        #expect(results.map(\.status) == [.succeeded, .skipped, .succeeded, .skipped, .failed, .succeeded])
        #expect(results[1].error == "condition was false")
        #expect(results[3].error == "dependency 'ifHot' did not succeed (skipped)")
        #expect(ran.all == ["probe", "ifCold", "last"])
    }

    @Test func conditionsAreIgnoredOutsideTheConditionalStrategy() async throws {
        let tasks = [ScheduledTask(id: "a", condition: { _ in false }) { _ in 1 }]
        let results = try await Scheduler().run(tasks, strategy: .sequential)
        #expect(results[0].status == .succeeded)
    }

    @Test func cyclesAreNamedInFull() async throws {
        let noop: @Sendable ([String: TaskResult]) async throws -> JSONValue = { _ in nil }
        let scheduler = Scheduler()
        let three = [
            ScheduledTask(id: "free", run: noop),
            ScheduledTask(id: "a", dependsOn: ["b"], run: noop),
            ScheduledTask(id: "b", dependsOn: ["c"], run: noop),
            ScheduledTask(id: "c", dependsOn: ["free", "a"], run: noop),
        ]
        await #expect(throws: SchedulerError.cycle(["a", "b", "c", "a"])) {
            try await scheduler.run(three, strategy: .parallel)
        }
        #expect(SchedulerError.cycle(["a", "b", "c", "a"]).description == "dependency cycle: a -> b -> c -> a")
        await #expect(throws: SchedulerError.cycle(["x", "x"])) {
            try await scheduler.run([ScheduledTask(id: "x", dependsOn: ["x"], run: noop)], strategy: .sequential)
        }
        await #expect(throws: SchedulerError.unknownDependency(task: "a", dependency: "ghost")) {
            try await scheduler.run([ScheduledTask(id: "a", dependsOn: ["ghost"], run: noop)], strategy: .sequential)
        }
        await #expect(throws: SchedulerError.duplicateTask("a")) {
            try await scheduler.run([ScheduledTask(id: "a", run: noop), ScheduledTask(id: "a", run: noop)],
                                    strategy: .parallel)
        }
        #expect(scheduler.stats().runs == 0)
    }

    @Test func fixedBackoffRetriesUntilSuccess() async throws {
        let sleeps = RecordedSleeps()
        let flaky = FailingTimes(2)
        let task = ScheduledTask(id: "flaky", retry: RetryPolicy(maxAttempts: 5, backoff: .fixed(.milliseconds(7)))) { _ in
            try flaky.call()
        }
        let results = try await Scheduler(sleep: sleeps.sleep).run([task], strategy: .sequential)
        #expect(results[0].status == .succeeded)
        #expect(results[0].attempts == 3)
        #expect(results[0].output == 3)
        #expect(sleeps.all == [.milliseconds(7), .milliseconds(7)])
    }

    @Test func exponentialBackoffGrowsToItsCapThenGivesUp() async throws {
        let sleeps = RecordedSleeps()
        let flaky = FailingTimes(.max)
        let policy = RetryPolicy(maxAttempts: 5, backoff: .exponential(initial: .milliseconds(1), multiplier: 2,
                                                                       max: .milliseconds(5)))
        let task = ScheduledTask(id: "never", retry: policy) { _ in try flaky.call() }
        let scheduler = Scheduler(sleep: sleeps.sleep)
        let results = try await scheduler.run([task], strategy: .parallel)
        #expect(results[0].status == .failed)
        #expect(results[0].attempts == 5)
        #expect(results[0].error == "sink failure #5")
        #expect(flaky.count == 5)
        #expect(sleeps.all == [.milliseconds(1), .milliseconds(2), .milliseconds(4), .milliseconds(5)])
        #expect(scheduler.stats().retries == 4)
    }

    @Test func jitterShortensWaitsReproduciblyWithASeed() async throws {
        let policy = RetryPolicy(maxAttempts: 4, backoff: .fixed(.milliseconds(100)), jitter: 0.5)
        #expect(policy.delay(beforeRetry: 1, random: 0) == .milliseconds(100))
        #expect(policy.delay(beforeRetry: 1, random: 1) == .milliseconds(50))
        func waits(seed: UInt64) async throws -> [Duration] {
            let sleeps = RecordedSleeps()
            let random = Mutex(AgentVMTestKit.SeededRandom(seed: seed))
            let flaky = FailingTimes(.max)
            let scheduler = Scheduler(random: { random.withLock { $0.unit() } }, sleep: sleeps.sleep)
            _ = try await scheduler.run([ScheduledTask(id: "j", retry: policy) { _ in try flaky.call() }], strategy: .sequential)
            return sleeps.all
        }
        let first = try await waits(seed: 42)
        let again = try await waits(seed: 42)
        #expect(first.count == 3)
        #expect(first == again)
        #expect(first.allSatisfy { $0 >= .milliseconds(50) && $0 <= .milliseconds(100) })
        #expect(Set(first).count > 1)
    }

    @Test func timeoutCancelsTheAttemptAndReportsTimedOut() async throws {
        let task = ScheduledTask(id: "stuck", timeout: .milliseconds(20), run: sleepUntilCancelled)
        let results = try await Scheduler().run([task], strategy: .parallel)
        #expect(results[0].status == .timedOut)
        #expect(results[0].error?.contains("timed out") == true)
    }

    @Test func timeoutReturnsEvenWhenTheTaskIgnoresCancellation() async throws {
        let release = Atomic<Bool>(false)
        let task = ScheduledTask(id: "deaf", timeout: .milliseconds(20)) { _ in
            while !release.load(ordering: .relaxed) { try? await Task.sleep(for: .milliseconds(2)) }
            return "late"
        }
        let results = try await Scheduler().run([task], strategy: .sequential)
        release.store(true, ordering: .relaxed)
        #expect(results[0].status == .timedOut)
    }

    @Test func timedOutAttemptsAreRetried() async throws {
        let attempts = Atomic<Int>(0)
        let task = ScheduledTask(id: "slowThenFast", retry: RetryPolicy(maxAttempts: 3), timeout: .seconds(1)) { _ in
            if attempts.wrappingAdd(1, ordering: .relaxed).newValue == 1 { try await Task.sleep(for: .seconds(600)) }
            return "ok"
        }
        // The first attempt needs the 1 s timeout to fire; the test asserts attempts, not time.
        let results = try await Scheduler(sleep: { _ in }).run([task], strategy: .sequential)
        #expect(results[0].status == .succeeded)
        #expect(results[0].attempts == 2)
    }

    @Test func cancellingTheRunCancelsItsTasks() async throws {
        let scheduler = Scheduler()
        let started = Atomic<Bool>(false)
        let tasks = [
            ScheduledTask(id: "long") { r in started.store(true, ordering: .relaxed); return try await sleepUntilCancelled(r) },
            ScheduledTask(id: "after", dependsOn: ["long"]) { _ in 1 },
        ]
        let run = Task { try await scheduler.run(tasks, strategy: .sequential) }
        #expect(await eventually { started.load(ordering: .relaxed) })
        run.cancel()
        let results = try await run.value
        #expect(results.map(\.status) == [.cancelled, .cancelled])
    }

    @Test func statsAndEventsCoverEveryRun() async throws {
        let events = EventBus()
        let seen = Recorder<String>()
        let sub = events.on("scheduler.*") { seen.append($0.type) }
        defer { sub.cancel() }
        let scheduler = Scheduler(events: events, sleep: { _ in })
        let flaky = FailingTimes(1)
        let tasks = [
            ScheduledTask(id: "ok") { _ in 1 },
            ScheduledTask(id: "retry", retry: RetryPolicy(maxAttempts: 2)) { _ in try flaky.call() },
            ScheduledTask(id: "bad") { _ in throw SinkFailure(n: 0) },
            ScheduledTask(id: "skip", dependsOn: ["bad"]) { _ in 1 },
            ScheduledTask(id: "slow", timeout: .milliseconds(10), run: sleepUntilCancelled),
        ]
        _ = try await scheduler.run(tasks, strategy: .parallel)
        let stats = scheduler.stats()
        #expect(stats.runs == 1 && stats.tasks == 5)
        #expect(stats.succeeded == 2 && stats.failed == 1 && stats.skipped == 1 && stats.timedOut == 1)
        #expect(stats.retries == 1 && stats.cancelled == 0)
        let wanted: Set = ["scheduler.run.started", "scheduler.task.started", "scheduler.task.retrying",
                           "scheduler.task.finished", "scheduler.run.completed"]
        #expect(await eventually { wanted.isSubset(of: Set(seen.all)) }, "saw \(seen.all)")
    }

    @Test func emptyRunReturnsNoResults() async throws {
        #expect(try await Scheduler().run([], strategy: .race).isEmpty)
    }
}
