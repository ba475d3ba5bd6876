import Foundation
import Testing
@testable import ClusterCore

@Suite("Kernel journal and recovery")
struct KernelJournalTests {
    @Test func recoverBringsBackProcessesStatesAndMailboxes() async throws {
        let journal = InMemoryKernelJournal()
        let memory = MemoryBus(backend: InMemoryBackend(), events: EventBus())
        let first = Kernel(config: KernelConfig(nodeID: "j"), memory: memory, journal: journal)
        try first.register(AgentDefinition(name: "c", handler: "counter"))
        let running = try await first.spawn("c")
        let paused = try await first.spawn("c")
        let gone = try await first.spawn("c")
        try await first.pause(paused)
        try await first.send(to: paused, payload: "a")
        try await first.send(to: paused, payload: "b")
        try await first.terminate(gone)
        try await first.send(to: running, payload: "x")
        #expect(await eventually { (try? memory.get(running, "count")) == 1 })
        #expect(try await eventually { (try await journal.load().mailboxes[running] ?? []).isEmpty })

        // A second kernel over the same journal and memory: as a node after a restart.
        let second = Kernel(config: KernelConfig(nodeID: "j"), memory: memory, journal: journal)
        try second.register(AgentDefinition(name: "c", handler: "counter"))
        let report = try await second.recover()
        #expect(Set(report.recovered) == [running, paused])
        #expect(report.messages == 2)
        #expect(second.process(running)?.state == .running)
        #expect(second.process(paused)?.state == .paused)
        #expect(second.process(paused)?.mailboxDepth == 2)
        #expect(second.process(gone) == nil)
        let next = try await second.spawn("c")
        #expect(![running, paused, gone].contains(next))
        try await second.resume(paused)
        #expect(await eventually { (try? memory.get(paused, "count")) == 2 })
        #expect(try await eventually { (try await journal.load().mailboxes[paused] ?? []).isEmpty })
    }

    @Test func channelDeliveriesAreJournaledBeforePublishReturns() async throws {
        let journal = InMemoryKernelJournal()
        let kernel = Kernel(config: KernelConfig(nodeID: "p"), journal: journal)
        try kernel.register(AgentDefinition(name: "c", handler: "counter"))
        try kernel.broker.createChannel(ChannelConfig(name: "jobs", type: .pubsub))
        let pid = try await kernel.spawn("c")
        try await kernel.subscribe(pid, to: "jobs")
        try await kernel.pause(pid)
        let m = try await kernel.publish("jobs", payload: "work")
        #expect(try await journal.load().mailboxes[pid]?.map(\.id) == [m.id])
        #expect(try await journal.load().processes.first { $0.id == pid }?.subscriptions == ["jobs"])
        try await kernel.resume(pid)
        #expect(try await eventually { (try await journal.load().mailboxes[pid] ?? []).isEmpty })
        #expect(try kernel.memory.get(pid, "count") == 1)
    }
}
