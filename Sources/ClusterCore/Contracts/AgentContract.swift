import Foundation

/// What an agent promises: the shape of its input and output, and its service level (how long an
/// execution may take, what it may cost).
///
/// Schemas are checked by the kernel before and after each execution (`checkInput`, `checkOutput`);
/// the SLA is measured after it (`slaBreaches`). `Codable` writes schemas as their JSON source and
/// `maxLatency` as milliseconds (`maxLatencyMs`), so a contract reads well in a config file.
public struct AgentContract: Sendable, Hashable, Codable {
    /// Schema every task input must satisfy; nil accepts any input.
    public var input: JSONSchema?
    /// Schema every output must satisfy; nil accepts any output.
    public var output: JSONSchema?
    /// Longest an execution may take before it counts as an SLA breach.
    public var maxLatency: Duration?
    /// Highest cost of one execution before it counts as an SLA breach.
    public var maxCost: Double?

    public init(input: JSONSchema? = nil, output: JSONSchema? = nil, maxLatency: Duration? = nil, maxCost: Double? = nil) {
        self.input = input
        self.output = output
        self.maxLatency = maxLatency
        self.maxCost = maxCost
    }

    /// Throws `ContractViolation` (phase `.input`) listing every violation when `value` breaks `input`.
    public func checkInput(_ value: JSONValue, agent: String) throws(ContractViolation) {
        try Self.check(input, value, agent: agent, phase: .input)
    }

    /// Throws `ContractViolation` (phase `.output`) listing every violation when `value` breaks `output`.
    public func checkOutput(_ value: JSONValue, agent: String) throws(ContractViolation) {
        try Self.check(output, value, agent: agent, phase: .output)
    }

    private static func check(_ schema: JSONSchema?, _ value: JSONValue, agent: String, phase: ContractPhase) throws(ContractViolation) {
        guard let schema else { return }
        let violations = schema.validate(value)
        if !violations.isEmpty { throw ContractViolation(agent: agent, phase: phase, violations: violations) }
    }

    /// The SLA limits an execution exceeded; empty when it kept within all of them.
    public func slaBreaches(latency: Duration, cost: Double?) -> [SLABreach] {
        var out: [SLABreach] = []
        if let maxLatency, latency > maxLatency { out.append(.latency(actual: latency, limit: maxLatency)) }
        if let maxCost, let cost, cost > maxCost { out.append(.cost(actual: cost, limit: maxCost)) }
        return out
    }

    private enum CodingKeys: String, CodingKey { case input, output, maxLatencyMs, maxCost }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        input = try c.decodeIfPresent(JSONSchema.self, forKey: .input)
        output = try c.decodeIfPresent(JSONSchema.self, forKey: .output)
        if let ms = try c.decodeIfPresent(Double.self, forKey: .maxLatencyMs) {
            // Bounded so `Duration.milliseconds` cannot trap (it does past ~1.7e23 ms); 9e12 ms
            // is about 285 years.
            guard ms.isFinite, ms >= 0, ms <= 9e12 else {
                throw DecodingError.dataCorruptedError(forKey: .maxLatencyMs, in: c, debugDescription: "maxLatencyMs must be a non-negative number of milliseconds up to 9e12, got \(ms)")
            }
            maxLatency = .milliseconds(ms)
        } else {
            maxLatency = nil
        }
        maxCost = try c.decodeIfPresent(Double.self, forKey: .maxCost)
        if let maxCost, !(maxCost.isFinite && maxCost >= 0) {
            throw DecodingError.dataCorruptedError(forKey: .maxCost, in: c, debugDescription: "maxCost must be a non-negative number, got \(maxCost)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(input, forKey: .input)
        try c.encodeIfPresent(output, forKey: .output)
        try c.encodeIfPresent(maxLatency.map(ContractsTime.milliseconds), forKey: .maxLatencyMs)
        try c.encodeIfPresent(maxCost, forKey: .maxCost)
    }
}

/// Which side of an execution a contract check was about.
public enum ContractPhase: String, Sendable, Hashable, Codable {
    case input, output
}

/// A value broke an agent's contract. On input the kernel rejects the call; on output it crashes
/// the process (see docs/contracts-and-tools.md).
public struct ContractViolation: Error, Sendable, Hashable, CustomStringConvertible {
    /// The agent whose contract was broken.
    public let agent: String
    /// Input or output.
    public let phase: ContractPhase
    /// Every violation found, each with its path.
    public let violations: [SchemaViolation]

    public init(agent: String, phase: ContractPhase, violations: [SchemaViolation]) {
        self.agent = agent
        self.phase = phase
        self.violations = violations
    }

    public var description: String {
        let list = violations.map(\.description).joined(separator: "; ")
        return "\(phase.rawValue) of agent \"\(agent)\" breaks its contract: \(list)"
    }

    /// Event data for a `contract.violated`-style event.
    public var eventData: JSONValue {
        .object([
            "agent": .string(agent), "phase": .string(phase.rawValue),
            "violations": .array(violations.map { .object(["path": .string($0.path), "message": .string($0.message)]) }),
        ])
    }
}

/// One SLA limit an execution exceeded.
public enum SLABreach: Sendable, Hashable, CustomStringConvertible {
    case latency(actual: Duration, limit: Duration)
    case cost(actual: Double, limit: Double)

    /// `latency` or `cost`.
    public var kind: String {
        switch self {
        case .latency: return "latency"
        case .cost: return "cost"
        }
    }

    public var description: String {
        switch self {
        case .latency(let actual, let limit):
            return "latency \(JSONValue.number(ContractsTime.milliseconds(actual)).jsonString) ms exceeds maxLatency \(JSONValue.number(ContractsTime.milliseconds(limit)).jsonString) ms"
        case .cost(let actual, let limit):
            return "cost \(JSONValue.number(actual).jsonString) exceeds maxCost \(JSONValue.number(limit).jsonString)"
        }
    }

    /// Event data: `kind`, `actual` and `limit` (milliseconds for latency).
    public var eventData: JSONValue {
        switch self {
        case .latency(let actual, let limit):
            return ["kind": "latency", "actualMs": .number(ContractsTime.milliseconds(actual)), "limitMs": .number(ContractsTime.milliseconds(limit))]
        case .cost(let actual, let limit):
            return ["kind": "cost", "actual": .number(actual), "limit": .number(limit)]
        }
    }
}

/// Milliseconds conversions shared by contracts and tools (namespaced so that it cannot collide with
/// another component's `Duration` helpers in this module).
enum ContractsTime {
    /// `d` in milliseconds, with fractions.
    static func milliseconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
    }
}
