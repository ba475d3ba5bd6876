import Foundation

/// A picture of the whole kernel: agents, processes by state, memory, tools, channels, usage, events.
public struct KernelStats: Sendable, Hashable {
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

    /// The stats as JSON (for an API): processes by state keyed by the state's name, every state
    /// present (0 when none).
    public var json: JSONValue {
        func encoded<T: Encodable>(_ v: T) -> JSONValue {
            (try? JSONValue.parse(KernelCoding.encoder().encode(v))) ?? .null
        }
        var byState: [String: JSONValue] = [:]
        for s in ProcessState.allCases { byState[s.rawValue] = .number(Double(processesByState[s] ?? 0)) }
        return .object([
            "agents": .number(Double(agents)), "processes": .number(Double(processes)),
            "processesByState": .object(byState), "totals": encoded(totals), "memory": encoded(memory),
            "tools": encoded(tools), "broker": encoded(broker), "channels": .number(Double(channels)),
            "events": ["emitted": .number(Double(eventsEmitted)), "dropped": .number(Double(droppedEvents))],
        ])
    }
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
