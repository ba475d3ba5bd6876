import Foundation
import Testing
@testable import ClusterCore

@Suite("Kernel SQLite journal")
struct KernelSQLiteJournalTests {
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kernel-journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// One node's durable parts over one SQLite file: memory and the kernel journal share it.
    static func node(_ path: String) throws -> (Kernel, SQLiteBackend) {
        let backend = try SQLiteBackend(path: path)
        let journal = try SQLiteKernelJournal(database: backend.database)
        let events = EventBus()
        let kernel = Kernel(config: KernelConfig(nodeID: "s"), events: events,
                            memory: MemoryBus(backend: backend, events: events), journal: journal)
        try kernel.register(AgentDefinition(name: "c", handler: "counter"))
        try kernel.broker.createChannel(ChannelConfig(name: "jobs", type: .pubsub))
        return (kernel, backend)
    }

    @Test func everythingAcknowledgedComesBackFromTheFile() async throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("node.db").path

        let (first, firstBackend) = try Self.node(path)
        let running = try await first.spawn("c")
        let paused = try await first.spawn("c")
        let gone = try await first.spawn("c")
        _ = try await first.execute(running, AgentTask(input: ["by": 10]))
        try await first.subscribe(paused, to: "jobs")
        try await first.pause(paused)
        try await first.send(to: paused, payload: "direct", priority: 1)
        try await first.publish("jobs", payload: "from-channel")
        try await first.terminate(gone)
        firstBackend.database.close()   // as if the node died here: nothing more reaches the file

        let (second, secondBackend) = try Self.node(path)
        defer { secondBackend.database.close() }
        let report = try await second.recover()
        #expect(Set(report.recovered) == [running, paused])
        #expect(report.messages == 2)
        #expect(second.process(running)?.state == .running)
        #expect(second.process(paused)?.state == .paused)
        #expect(second.process(paused)?.subscriptions == ["jobs"])
        #expect(second.process(paused)?.counters.executions == 0)
        #expect(second.process(running)?.counters.executions == 1)
        #expect(try second.memory.get(running, "count") == 10)
        #expect(second.process(gone) == nil)
        let fresh = try await second.spawn("c")
        #expect(![running, paused, gone].contains(fresh))

        // The recovered mailbox is delivered in order, and consumed from the journal.
        try await second.resume(paused)
        #expect(await eventually { (try? second.memory.get(paused, "count")) == 2 })
        let journal = try SQLiteKernelJournal(database: secondBackend.database)
        #expect(try await eventually { (try await journal.load().mailboxes[paused] ?? []).isEmpty })
        // The subscription works again after recovery.
        try await second.publish("jobs", payload: "after")
        #expect(await eventually { (try? second.memory.get(paused, "count")) == 3 })
    }

    @Test func unreadableRecordsAreReportedWithTheirPlace() async throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("bad.db").path
        let journal = try SQLiteKernelJournal(path: path)
        defer { journal.database.close() }
        try await journal.database.write { db in
            try db.execute("INSERT INTO kernel_processes (id, record) VALUES ('x-1', '{not json')")
        }
        do {
            _ = try await journal.load()
            Issue.record("an unreadable record was accepted")
        } catch {
            #expect("\(error)".contains("x-1") && "\(error)".contains(path))
        }
    }
}
