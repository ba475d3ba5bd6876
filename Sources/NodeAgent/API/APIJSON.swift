import ClusterCore
import Foundation
import Gossip // [cluster] MemberHealth in members

/// The API's JSON shapes of kernel types (docs/api.md, "Objects").
enum APIJSON {
    static func time(_ date: Date) -> JSONValue { .string(KernelEvent.formatTimestamp(date)) }
    static func time(_ date: Date?) -> JSONValue { date.map { .string(KernelEvent.formatTimestamp($0)) } ?? .null }
    static func num(_ i: Int) -> JSONValue { .number(Double(i)) }
    static func num(_ i: UInt64) -> JSONValue { .number(Double(i)) }
    static func milliseconds(_ d: Duration) -> JSONValue {
        .number(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
    }

    static func process(_ p: ProcessSnapshot, node: String) -> JSONValue {
        [
            "id": .string(p.id), "agent": .string(p.agent), "state": .string(p.state.rawValue), "node": .string(node),
            "createdAt": time(p.createdAt), "mailboxDepth": num(p.mailboxDepth),
            "runningExecutions": num(p.runningExecutions),
            "subscriptions": .array(p.subscriptions.map(JSONValue.string)),
            "counters": counters(p.counters),
        ]
    }

    static func counters(_ c: ProcessCounters) -> JSONValue {
        [
            "executions": num(c.executions), "failedExecutions": num(c.failedExecutions), "tokens": num(c.tokens),
            "cost": .number(c.cost), "messagesReceived": num(c.messagesReceived), "messagesFailed": num(c.messagesFailed),
        ]
    }

    static func agent(_ a: AgentDefinition, processes: Int) -> JSONValue {
        var contract: JSONValue = .null
        if let c = a.contract {
            contract = [
                "input": c.input?.source ?? .null, "output": c.output?.source ?? .null,
                "maxLatencyMs": c.maxLatency.map(milliseconds) ?? .null, "maxCost": c.maxCost.map(JSONValue.number) ?? .null,
            ]
        }
        return [
            "name": .string(a.name), "description": .string(a.description), "handler": .string(a.handler),
            "tools": a.tools.map { .array($0.sorted().map(JSONValue.string)) } ?? .null,
            "permission": .string(a.permission.rawValue),
            "sideEffects": .array(a.allowedSideEffects.map(\.rawValue).sorted().map(JSONValue.string)),
            "persistentMemory": .bool(a.persistentMemory),
            "limits": [
                "timeoutMs": a.limits.executionTimeout.map(milliseconds) ?? .null,
                "tokenBudget": a.limits.tokenBudget.map(num) ?? .null,
                "maxConcurrent": num(a.limits.maxConcurrentExecutions),
            ],
            "contract": contract, "config": a.config, "capabilities": .array(a.capabilities.map(JSONValue.string)),
            "processes": num(processes),
        ]
    }

    static func execution(_ r: ExecutionResult) -> JSONValue {
        [
            "processId": .string(r.processID), "task": .string(r.task), "output": r.output,
            "durationMs": milliseconds(r.duration), "tokens": num(r.tokens), "cost": .number(r.cost),
        ]
    }

    static func message(_ m: BrokerMessage) -> JSONValue {
        [
            "id": num(m.id), "channel": m.channel.map(JSONValue.string) ?? .null, "from": .string(m.from),
            "to": m.to.map(JSONValue.string) ?? .null, "payload": m.payload, "priority": num(m.priority),
            "timestamp": time(m.timestamp), "expiresAt": time(m.expiresAt), "attempts": num(m.attempts),
        ]
    }

    static func deadLetter(_ d: DeadLetter) -> JSONValue {
        ["message": message(d.message), "reason": .string(d.reason), "at": time(d.at)]
    }

    static func memoryEntry(key: String, _ e: MemoryEntry) -> JSONValue {
        ["key": .string(key), "value": e.value, "expiresAt": time(e.expiresAt), "updatedAt": time(e.updatedAt)]
    }

    static func channel(_ c: ChannelConfig, subscribers: Int, published: UInt64) -> JSONValue {
        [
            "name": .string(c.name), "type": .string(c.type.rawValue), "historyLimit": num(c.historyLimit),
            "schema": c.schema?.source ?? .null, "maxDeliveryAttempts": num(c.maxDeliveryAttempts),
            "subscribers": num(subscribers), "published": num(published),
        ]
    }

    static func member(_ m: NodeMember) -> JSONValue {
        [
            "id": .string(m.id), "status": .string(m.status), "incarnation": num(m.incarnation),
            "lastSeen": time(m.lastSeen), "health": health(m.health),
        ]
    }

    // [cluster] a member's health as docs/wire.md names its fields
    static func health(_ h: MemberHealth) -> JSONValue {
        [
            "processCount": num(h.processCount), "queueDepth": num(h.queueDepth), "cpu": .number(h.cpu),
            "memoryBytes": num(h.memoryBytes), "version": .string(h.version), "apiAddress": .string(h.apiAddress),
            "labels": .object(h.labels.mapValues(JSONValue.string)),
        ]
    }
}
