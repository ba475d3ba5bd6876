/// How much a caller may do, in increasing order. A tool names the level it needs; a caller must be
/// granted at least that level (`granted >= required`).
public enum PermissionLevel: String, Sendable, Codable, Comparable, CaseIterable {
    case none, read, write, execute, admin

    private var rank: Int {
        switch self {
        case .none: return 0
        case .read: return 1
        case .write: return 2
        case .execute: return 3
        case .admin: return 4
        }
    }

    public static func < (a: PermissionLevel, b: PermissionLevel) -> Bool { a.rank < b.rank }
}

/// Something a tool does to the world beyond returning a value. A caller must be allowed every side
/// effect of a tool it calls, except `none` and `readOnly`, which change nothing and are always
/// allowed (reading is governed by the permission level instead).
public enum SideEffect: String, Sendable, Codable, CaseIterable {
    case none
    case readOnly = "read-only"
    case writesMemory = "writes-memory"
    case filesystem, network, process

    /// True for effects that change nothing and so need no grant.
    public var isHarmless: Bool { self == .none || self == .readOnly }
}

/// Who calls a tool: built by the kernel from the agent definition.
public struct ToolCaller: Sendable, Hashable {
    /// Agent name; rate limits and per-agent stats are keyed by it.
    public var agent: String
    /// The calling process, when there is one.
    public var processID: String?
    /// The highest permission level granted to the agent.
    public var permission: PermissionLevel
    /// Side effects the agent may cause (`none` and `readOnly` need not be listed).
    public var allowedSideEffects: Set<SideEffect>
    /// Tools the agent may call: nil = every tool; empty = none.
    public var allowlist: Set<String>?

    public init(agent: String, processID: String? = nil, permission: PermissionLevel = .none,
                allowedSideEffects: Set<SideEffect> = [], allowlist: Set<String>? = nil) {
        self.agent = agent
        self.processID = processID
        self.permission = permission
        self.allowedSideEffects = allowedSideEffects
        self.allowlist = allowlist
    }
}

/// What a tool handler learns about the call besides its arguments.
public struct ToolInvocation: Sendable {
    /// Who called.
    public let caller: ToolCaller
    /// Unique per router, increasing; also in the call's events.
    public let callID: UInt64

    public init(caller: ToolCaller, callID: UInt64) {
        self.caller = caller
        self.callID = callID
    }
}
