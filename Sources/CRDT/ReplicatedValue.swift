import JSONCodec

/// One replicated value of any of the kinds the memory bus uses, so one `Replicator` can hold
/// counters, sets and maps under different keys.
///
/// A key's kind is fixed by its first write. If two replicas write different kinds under one key
/// concurrently, the merge keeps the kind that comes later in this order: register, mvRegister,
/// counter, set, map (a total order, so the merge stays a join).
public enum ReplicatedValue<Element: Codable & Hashable & Sendable>: DeltaReplicatedData {
    /// A last-writer-wins register.
    case register(LWWRegister<Element>)
    /// A multi-value register.
    case mvRegister(MVRegister<Element>)
    /// An up/down counter.
    case counter(PNCounter)
    /// An add-wins set.
    case set(ORSet<Element>)
    /// A last-writer-wins map with TTL and deletes.
    case map(LWWMap<Element>)

    private var rank: Int {
        switch self {
        case .register: return 0
        case .mvRegister: return 1
        case .counter: return 2
        case .set: return 3
        case .map: return 4
        }
    }

    public mutating func merge(_ other: ReplicatedValue) { combine(other, delta: false) }
    public mutating func mergeDelta(_ delta: ReplicatedValue) { combine(delta, delta: true) }

    private mutating func combine(_ other: ReplicatedValue, delta: Bool) {
        // Each payload is taken out of `self` before it is mutated, so it is merged in place
        // instead of being copied.
        switch other {
        case .register(let b):
            if case .register(var a) = self { self = .placeholder; a.join(b, delta); self = .register(a); return }
        case .mvRegister(let b):
            if case .mvRegister(var a) = self { self = .placeholder; a.join(b, delta); self = .mvRegister(a); return }
        case .counter(let b):
            if case .counter(var a) = self { self = .placeholder; a.join(b, delta); self = .counter(a); return }
        case .set(let b):
            if case .set(var a) = self { self = .placeholder; a.join(b, delta); self = .set(a); return }
        case .map(let b):
            if case .map(var a) = self { self = .placeholder; a.join(b, delta); self = .map(a); return }
        }
        if other.rank > rank { self = other }
    }

    private static var placeholder: ReplicatedValue { .counter(PNCounter()) }

    /// Mutates the map payload in place; false when the value is not a map.
    @discardableResult
    public mutating func modifyMap(_ body: (inout LWWMap<Element>) -> Void) -> Bool {
        guard case .map(var m) = self else { return false }
        self = .placeholder
        body(&m)
        self = .map(m)
        return true
    }

    /// Mutates the set payload in place; false when the value is not a set.
    @discardableResult
    public mutating func modifySet(_ body: (inout ORSet<Element>) -> Void) -> Bool {
        guard case .set(var s) = self else { return false }
        self = .placeholder
        body(&s)
        self = .set(s)
        return true
    }

    /// Mutates the counter payload; false when the value is not a counter.
    @discardableResult
    public mutating func modifyCounter(_ body: (inout PNCounter) -> Void) -> Bool {
        guard case .counter(var c) = self else { return false }
        body(&c)
        self = .counter(c)
        return true
    }

    public var delta: ReplicatedValue? {
        switch self {
        case .register(let v): return v.delta.map(ReplicatedValue.register)
        case .mvRegister(let v): return v.delta.map(ReplicatedValue.mvRegister)
        case .counter(let v): return v.delta.map(ReplicatedValue.counter)
        case .set(let v): return v.delta.map(ReplicatedValue.set)
        case .map(let v): return v.delta.map(ReplicatedValue.map)
        }
    }

    public mutating func resetDelta() { transform { $0.resetDelta() } }

    public func needsPruning(from removed: ReplicaID) -> Bool {
        switch self {
        case .register(let v): return v.needsPruning(from: removed)
        case .mvRegister(let v): return v.needsPruning(from: removed)
        case .counter(let v): return v.needsPruning(from: removed)
        case .set(let v): return v.needsPruning(from: removed)
        case .map(let v): return v.needsPruning(from: removed)
        }
    }

    public mutating func prune(removed: ReplicaID, into survivor: ReplicaID) {
        transform { $0.prune(removed: removed, into: survivor) }
    }

    public mutating func pruningCleanup(removed: ReplicaID) {
        transform { $0.pruningCleanup(removed: removed) }
    }

    private mutating func transform(_ body: (inout any DeltaReplicatedData) -> Void) {
        switch self {
        case .register(let v): self = .register(Self.apply(v, body))
        case .mvRegister(let v): self = .mvRegister(Self.apply(v, body))
        case .counter(let v): self = .counter(Self.apply(v, body))
        case .set(let v): self = .set(Self.apply(v, body))
        case .map(let v): self = .map(Self.apply(v, body))
        }
    }

    private static func apply<T: DeltaReplicatedData>(_ value: T, _ body: (inout any DeltaReplicatedData) -> Void) -> T {
        var boxed: any DeltaReplicatedData = value
        body(&boxed)
        return (boxed as? T) ?? value
    }
}

extension ReplicatedValue {
    @inlinable
    public func write(to writer: inout JSONWriter) throws {
        switch self {
        case .register(let v):
            writer.raw(#"{"register":{"_0":"#)
            try v.write(to: &writer)
        case .mvRegister(let v):
            writer.raw(#"{"mvRegister":{"_0":"#)
            try v.write(to: &writer)
        case .counter(let v):
            writer.raw(#"{"counter":{"_0":"#)
            try v.write(to: &writer)
        case .set(let v):
            writer.raw(#"{"set":{"_0":"#)
            try v.write(to: &writer)
        case .map(let v):
            writer.raw(#"{"map":{"_0":"#)
            try v.write(to: &writer)
        }
        writer.raw("}}")
    }

    @inlinable
    public static func read(from reader: inout JSONReader) throws -> ReplicatedValue {
        var value: ReplicatedValue?
        // As the synthesized `Decodable`: one key naming the case, holding {"_0": payload}.
        try reader.readCase(["register", "mvRegister", "counter", "set", "map"]) { r, kind in
            try r.readFields(["_0"]) { r, _ in
                switch kind {
                case 0: value = .register(try LWWRegister.read(from: &r))
                case 1: value = .mvRegister(try MVRegister.read(from: &r))
                case 2: value = .counter(try PNCounter.read(from: &r))
                case 3: value = .set(try ORSet.read(from: &r))
                default: value = .map(try LWWMap.read(from: &r))
                }
            }
        }
        guard let value else { throw reader.error("no value kind") }
        return value
    }
}

extension DeltaReplicatedData {
    fileprivate mutating func join(_ other: Self, _ delta: Bool) {
        if delta { mergeDelta(other) } else { merge(other) }
    }
}
