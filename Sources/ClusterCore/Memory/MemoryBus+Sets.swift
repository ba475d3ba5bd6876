import Foundation

/// Sets in memory: on a replicated namespace an OR-set (the store's; a concurrent add on another
/// node survives a remove), elsewhere a JSON array rewritten by compare-and-set (exact on one node).
/// Members come back sorted by their JSON text either way.
extension MemoryBus {
    /// Adds `elements` to the set under `key` (created when absent); returns the members after.
    /// Throws `MemoryError.notASet` when the key holds something other than a set.
    public func addMembers(_ namespace: String, _ key: String, _ elements: [JSONValue]) async throws -> [JSONValue] {
        try await modifyMembers(namespace, key, elements, add: true)
    }

    /// Removes `elements` from the set under `key`; returns the members after.
    public func removeMembers(_ namespace: String, _ key: String, _ elements: [JSONValue]) async throws -> [JSONValue] {
        try await modifyMembers(namespace, key, elements, add: false)
    }

    /// The members of the set under `key`, sorted; nil when there is no set there.
    public func members(_ namespace: String, _ key: String) throws -> [JSONValue]? {
        if let s = replicatedStore, s.holds(namespace) { return try s.members(namespace, key) }
        return try get(namespace, key)?.arrayValue
    }

    private func modifyMembers(_ namespace: String, _ key: String, _ elements: [JSONValue], add: Bool) async throws -> [JSONValue] {
        try Self.validateWritable(namespace, key)
        if let s = replicatedStore, s.holds(namespace) {
            let members = add ? try await s.add(namespace, key, elements) : try await s.remove(namespace, key, elements)
            didWrite("memory.set", namespace, key)
            return members
        }
        // A JSON array: read, change, compare-and-set, until no other writer came in between.
        while true {
            let current = try get(namespace, key)
            let members = try Self.applying(elements, add: add, to: current, key: key)
            if try await compareAndSet(namespace, key, expected: current, new: .array(members)) { return members }
        }
    }

    /// `current` (a JSON array, or nil) with `elements` added or removed, sorted by JSON text.
    static func applying(_ elements: [JSONValue], add: Bool, to current: JSONValue?, key: String) throws -> [JSONValue] {
        var members: [JSONValue]
        switch current {
        case nil: members = []
        case .array(let a)?: members = a
        case let other?: throw MemoryError.notASet(key: key, holds: other.typeName)
        }
        for e in elements {
            if add, !members.contains(e) { members.append(e) }
            if !add { members.removeAll { $0 == e } }
        }
        // Each member's text once, not once per comparison.
        return members.map { ($0.jsonString, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
