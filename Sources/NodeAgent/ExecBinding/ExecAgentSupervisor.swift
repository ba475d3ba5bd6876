import ClusterCore
import Foundation
import Synchronization

/// Runs the exec agents' programs: one `ExecAgentProcess` per kernel process, started on the
/// process's first need (spawn, recovery, or a task after a resume), restarted by its agent's
/// restart policy, and stopped with the process or the node. It is the programs' `ExecHost`:
/// their requests go to the kernel as the process they serve (its memory namespace, its tool
/// permissions), their logs become `process.log` events.
public final class ExecAgentSupervisor: ExecHost {
    private enum Slot {
        case starting(Task<ExecAgentProcess, any Error>)
        case running(ExecAgentProcess)
        /// Gave up (restart policy, or a failed start); tasks fail with the reason.
        case dead(String)
    }

    private struct Entry {
        var slot: Slot
        var context: ExecutionContext
        var spec: ExecAgentSpec
        var restarts = 0
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var closed = false
    }

    private let state = Mutex(State())
    private let taskIDs = Atomic<UInt64>(0)
    private let events: EventBus
    private let logger: NodeLogger

    /// A supervisor reporting on `events` and `logger`.
    public init(events: EventBus, logger: NodeLogger) {
        self.events = events
        self.logger = logger
    }

    /// Programs running now.
    public var runningCount: Int {
        state.withLock { s in s.entries.values.filter { if case .running = $0.slot { true } else { false } }.count }
    }

    /// The pid of the program serving `process`, while it runs.
    public func programPID(for process: String) -> Int32? {
        state.withLock { s -> Int32? in
            guard let e = s.entries[process], case .running(let p) = e.slot else { return nil }
            return p.pid
        }
    }

    func nextTaskID() -> String { "t\(taskIDs.wrappingAdd(1, ordering: .relaxed).newValue)" }

    /// The running program of the context's process, starting it when there is none.
    func program(for context: ExecutionContext, spec: ExecAgentSpec) async throws -> ExecAgentProcess {
        let id = context.processID
        enum Next { case ready(ExecAgentProcess), wait(Task<ExecAgentProcess, any Error>), fail(String) }
        let next = state.withLock { s -> Next in
            if s.closed { return .fail("the node is stopping") }
            if let e = s.entries[id] {
                switch e.slot {
                case .running(let p) where p.exitStatus == nil: return .ready(p)
                case .running: break  // exited; its exit report decides, but a caller gets a fresh start
                case .starting(let t): return .wait(t)
                case .dead(let why): return .fail(why)
                }
            }
            let task = makeStartTask(id: id, agent: context.agent, spec: spec)
            var entry = s.entries[id] ?? Entry(slot: .starting(task), context: context, spec: spec)
            entry.slot = .starting(task)
            entry.context = context
            s.entries[id] = entry
            return .wait(task)
        }
        switch next {
        case .ready(let p): return p
        case .fail(let why): throw ExecBindingError("exec agent of process \(id) is not running: \(why)")
        case .wait(let t): return try await t.value
        }
    }

    private func makeStartTask(id: String, agent: AgentDefinition, spec: ExecAgentSpec) -> Task<ExecAgentProcess, any Error> {
        Task { [self] in
            let program = ExecAgentProcess(processID: id, agent: agent.name, config: agent.config,
                                           configuration: spec.configuration(), host: self)
            do {
                try await program.start()
            } catch {
                state.withLock { s in
                    if s.entries[id] != nil { s.entries[id]?.slot = .dead("start failed: \(error)") }
                }
                events.emit("exec.failed", source: id, data: ["error": .string("\(error)")])
                throw error
            }
            let keep = state.withLock { s -> Bool in
                guard s.entries[id] != nil, !s.closed else { return false }
                s.entries[id]?.slot = .running(program)
                return true
            }
            if !keep {
                await program.terminate()
                throw ExecBindingError("process \(id) stopped while its program started")
            }
            events.emit("exec.started", source: id, data: ["pid": .number(Double(program.pid)), "agent": .string(agent.name)])
            return program
        }
    }

    /// Stops the program of one process (the process was terminated).
    func stopProcess(_ id: String) async {
        let slot = state.withLock { $0.entries.removeValue(forKey: id)?.slot }
        await Self.stop(slot)
    }

    /// Stops every program (the node is stopping); no new one starts afterwards.
    public func stopAll() async {
        let slots = state.withLock { s -> [Slot] in
            s.closed = true
            let all = s.entries.values.map(\.slot)
            s.entries.removeAll()
            return all
        }
        await withTaskGroup(of: Void.self) { group in
            for slot in slots { group.addTask { await Self.stop(slot) } }
        }
    }

    private static func stop(_ slot: Slot?) async {
        switch slot {
        case .running(let p)?: await p.terminate()
        case .starting(let t)?:
            if let p = try? await t.value { await p.terminate() }
        default: break
        }
    }

    // MARK: ExecHost

    public func handle(_ request: ExecRequest, from process: String) async throws -> JSONValue {
        guard let context = state.withLock({ $0.entries[process]?.context }) else {
            throw ExecBindingError("process \(process) is gone")
        }
        func space(_ name: String?) throws -> ProcessMemory { try name.map(context.namespace) ?? context.memory }
        switch request {
        case .memoryGet(let key, let ns): return try space(ns).get(key) ?? .null
        case .memorySet(let key, let value, let ns):
            try await space(ns).set(key, value)
            return .null
        case .memoryDelete(let key, let ns): return .bool(try await space(ns).delete(key))
        case .memoryList(let prefix, let ns):
            return .array(try space(ns).list(prefix: prefix).map { .string($0.key) })
        case .memoryIncr(let key, let by, let ns): return .number(try await space(ns).increment(key, by: by))
        case .memorySAdd(let key, let members, let ns): return .array(try await space(ns).add(key, members))
        case .memorySRem(let key, let members, let ns): return .array(try await space(ns).remove(key, members))
        case .memorySMembers(let key, let ns): return try space(ns).members(key).map(JSONValue.array) ?? .null
        case .toolCall(let name, let arguments): return try await context.callTool(name, arguments: arguments)
        case .publish(let channel, let payload):
            try await context.publish(channel, payload)
            return .null
        case .send(let to, let payload):
            try await context.send(to: to, payload)
            return .null
        }
    }

    public func emit(type: String, data: JSONValue, from process: String) {
        events.emit(type, source: process, data: data)
    }

    public func log(_ entry: ExecLogEntry, from process: String) {
        events.emit("process.log", source: process, data: [
            "level": .string(entry.level), "message": .string(entry.message),
            "origin": .string(entry.source.rawValue), "fields": entry.fields,
        ])
        logger.debug(entry.message, ["process": .string(process), "origin": .string(entry.source.rawValue)])
    }

    public func exited(_ exit: ExecExit, process: String) {
        enum Action { case none, restart(Int, ExecutionContext, ExecAgentSpec), gaveUp(String) }
        let action = state.withLock { s -> Action in
            guard !s.closed, let e = s.entries[process], case .running(let p) = e.slot, p.exitStatus != nil else { return .none }
            switch e.spec.restart.decide(after: exit, restartsSoFar: e.restarts) {
            case .restart(let attempt):
                s.entries[process]?.restarts = attempt
                let task = makeStartTask(id: process, agent: e.context.agent, spec: e.spec)
                s.entries[process]?.slot = .starting(task)
                return .restart(attempt, e.context, e.spec)
            case .stop(let reason):
                s.entries[process]?.slot = .dead(reason)
                return .gaveUp(reason)
            }
        }
        switch action {
        case .none: break
        case .restart(let attempt, _, _):
            logger.warn("exec agent restarting", ["process": .string(process), "exit": .string("\(exit)"), "attempt": .number(Double(attempt))])
            events.emit("exec.restarted", source: process, data: ["exit": .string("\(exit)"), "attempt": .number(Double(attempt))])
        case .gaveUp(let reason):
            logger.warn("exec agent stopped", ["process": .string(process), "reason": .string(reason)])
            events.emit("exec.stopped", source: process, data: ["exit": .string("\(exit)"), "reason": .string(reason)])
        }
    }
}

/// The `exec` handler: a task or message for a process goes to the program serving it.
struct ExecAgentHandler: AgentHandler {
    let spec: ExecAgentSpec
    let supervisor: ExecAgentSupervisor

    func start(context: ExecutionContext) async throws {
        _ = try await supervisor.program(for: context, spec: spec)
    }

    func execute(_ task: AgentTask, context: ExecutionContext) async throws -> AgentOutput {
        let program = try await supervisor.program(for: context, spec: spec)
        let result = try await program.runTask(id: supervisor.nextTaskID(), task: task.name, input: task.input)
        return AgentOutput(result.output, tokens: result.tokens ?? 0, cost: result.cost ?? 0)
    }

    func receive(_ message: BrokerMessage, context: ExecutionContext) async throws {
        let program = try await supervisor.program(for: context, spec: spec)
        try program.deliver(id: String(message.id), from: message.from, payload: message.payload)
    }

    func stop(context: ExecutionContext) async {
        await supervisor.stopProcess(context.processID)
    }
}
