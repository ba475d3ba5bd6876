import Synchronization

/// A journal kept in memory: survives a kernel, not the process. For a node restarted in-process
/// (tests, embedded use) and as the reference behaviour of `KernelJournal`.
public final class InMemoryKernelJournal: KernelJournal {
    private struct State {
        var processes: [String: JournaledProcess] = [:]
        var order: [String] = []
        var mailboxes: [String: [BrokerMessage]] = [:]
        var reservedIDs: UInt64 = 0
    }
    private let state = Mutex(State())

    public init() {}

    public func processSaved(_ process: JournaledProcess) async throws {
        state.withLock { s in
            if s.processes.updateValue(process, forKey: process.id) == nil { s.order.append(process.id) }
        }
    }

    public func processRemoved(_ id: String) async throws {
        state.withLock { s in
            if s.processes.removeValue(forKey: id) != nil { s.order.removeAll { $0 == id } }
            s.mailboxes[id] = nil
        }
    }

    public func messageAppended(_ message: BrokerMessage, process: String) async throws {
        state.withLock { $0.mailboxes[process, default: []].append(message) }
    }

    public func messageConsumed(_ messageID: UInt64, process: String) async throws {
        state.withLock { s in
            guard let i = s.mailboxes[process]?.firstIndex(where: { $0.id == messageID }) else { return }
            s.mailboxes[process]?.remove(at: i)
        }
    }

    public func idsReserved(upTo counter: UInt64) async throws {
        state.withLock { $0.reservedIDs = max($0.reservedIDs, counter) }
    }

    public func load() async throws -> JournalContents {
        state.withLock { s in
            JournalContents(processes: s.order.compactMap { s.processes[$0] },
                            mailboxes: s.mailboxes.filter { !$0.value.isEmpty }, reservedIDs: s.reservedIDs)
        }
    }
}
