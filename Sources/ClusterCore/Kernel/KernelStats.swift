/// A picture of the whole kernel: agents, processes by state, memory, tools, channels, usage, events.
public struct KernelStats: Sendable {
    public var agents: Int
    /// Live and crashed processes.
    public var processes: Int
    public var processesByState: [ProcessState: Int]
    /// Totals over every process this kernel ran, terminated ones included.
    public var totals: ProcessCounters
    public var memory: MemoryStats
    public var tools: ToolStats
    public var broker: BrokerStats
    public var channels: Int
    public var eventsEmitted: UInt64
    /// Events a slow listener did not take (see `EventBus`).
    public var droppedEvents: UInt64
}

extension Kernel {
    public func stats() -> KernelStats {
        let entries = table.withLock { Array($0.live.values) }
        var byState: [ProcessState: Int] = [:]
        var totals = retired.withLock { $0 }
        for e in entries {
            let (state, counters) = e.core.withLock { ($0.state, $0.counters) }
            byState[state, default: 0] += 1
            totals.add(counters)
        }
        return KernelStats(
            agents: agentTable.withLock { $0.count }, processes: entries.count, processesByState: byState,
            totals: totals, memory: memory.stats(), tools: tools.stats(), broker: broker.stats(),
            channels: broker.channels().count, eventsEmitted: events.emittedEvents, droppedEvents: events.droppedEvents)
    }
}
