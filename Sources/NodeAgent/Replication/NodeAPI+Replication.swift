import ClusterCore
import Foundation

/// Memory routes for replicated namespaces, and the set routes. On a clustered node the replicated
/// namespaces are `ReplicatedMemory`'s: writes go through the MemoryBus (which hands them to it and
/// emits the same `memory.*` events as for any namespace), reads straight to the replica. Embedded,
/// everything goes through the MemoryBus as before (sets are then JSON arrays updated by
/// compare-and-set, which is exact on one node).
extension NodeAPI {
    /// The replicated memory for the request's namespace, if it is replicated on this node.
    func replicated(_ req: HTTPRequest) throws -> ReplicatedMemory? {
        let ns = try req.parameter("ns")
        guard let r = node.replicatedMemory, r.isReplicated(ns) else { return nil }
        return r
    }

    func replicatedRoute(_ body: () async throws -> HTTPResponse) async throws -> HTTPResponse {
        do { return try await body() } catch let e as ReplicatedMemoryError {
            switch e {
            case .wrongKind: throw HTTPError(status: 409, code: "wrong_type", message: e.description, field: "key")
            case .notAnInteger: throw HTTPError(status: 400, code: "invalid_argument", message: e.description, field: "by")
            case .notReplicated, .invalidNamespace:
                throw HTTPError(status: 400, code: "invalid_argument", message: e.description, field: "ns")
            }
        }
    }

    func listReplicated(_ r: ReplicatedMemory, _ req: HTTPRequest) async throws -> HTTPResponse {
        let ns = try req.parameter("ns")
        let prefix = QueryParameters(req).string("prefix") ?? ""
        if QueryParameters(req).string("summary") != nil {
            // A cheap convergence check (`ReplicatedMemory.summary`), without formatting every entry.
            let s = try r.summary(ns, prefix: prefix)
            return .json(["namespace": .string(ns), "count": .number(Double(s.count)), "hash": .string(String(s.hash, radix: 16))])
        }
        let records = try r.list(ns, prefix: prefix)
        return .json(["namespace": .string(ns), "entries": .array(records.map { APIJSON.memoryEntry(key: $0.key, $0.entry) })])
    }

    func getReplicated(_ r: ReplicatedMemory, _ req: HTTPRequest) async throws -> HTTPResponse {
        let ns = try req.parameter("ns"), key = try req.parameter("key")
        guard let e = try r.entry(ns, key) else {
            throw HTTPError(status: 404, code: "key_not_found", message: "no key '\(key)' in namespace '\(ns)'", field: "key")
        }
        return .json(APIJSON.memoryEntry(key: key, e))
    }

    func setReplicated(_ r: ReplicatedMemory, _ req: HTTPRequest) async throws -> HTTPResponse {
        let ns = try req.parameter("ns"), key = try req.parameter("key")
        let body = try RequestBody(req)
        let value = try body.required("value")
        try await kernel.memory.set(ns, key, value, ttl: try body.milliseconds("ttlMs"))
        let entry = try r.entry(ns, key) ?? MemoryEntry(value: value, expiresAt: nil, updatedAt: Date())
        return .json(APIJSON.memoryEntry(key: key, entry))
    }

    func deleteReplicated(_ r: ReplicatedMemory, _ req: HTTPRequest) async throws -> HTTPResponse {
        let deleted = try await kernel.memory.delete(try req.parameter("ns"), try req.parameter("key"))
        return .json(["deleted": .bool(deleted)])
    }

    func incrementReplicated(_ r: ReplicatedMemory, _ req: HTTPRequest) async throws -> HTTPResponse {
        let key = try req.parameter("key")
        let body = try RequestBody(req)
        return try await replicatedRoute {
            let value = try await kernel.memory.increment(try req.parameter("ns"), key, by: try body.number("by") ?? 1)
            return .json(["key": .string(key), "value": .number(value)])
        }
    }

    /// `POST /v1/memory/:ns/:key/sadd|srem` with `{"members": [..]}` (or `{"member": x}`);
    /// answers `{"key", "members"}`.
    func modifySet(_ req: HTTPRequest, add: Bool) async throws -> HTTPResponse {
        let ns = try req.parameter("ns"), key = try req.parameter("key")
        let body = try RequestBody(req)
        let elements: [JSONValue]
        if let list = body.value("members") {
            guard let a = list.arrayValue else { throw RequestBody.invalid("members", "must be an array, got \(list.typeName)") }
            elements = a
        } else {
            elements = [try body.required("member")]
        }
        // Replicated: the replica's OR-set. Embedded or local: a JSON array by compare-and-set.
        return try await replicatedRoute {
            let members = add ? try await kernel.memory.addMembers(ns, key, elements)
                : try await kernel.memory.removeMembers(ns, key, elements)
            return .json(["key": .string(key), "members": .array(members)])
        }
    }

    /// `GET /v1/memory/:ns/:key/members`: `{"key", "members"}`; 404 when there is no set.
    func setMembers(_ req: HTTPRequest) async throws -> HTTPResponse {
        let ns = try req.parameter("ns"), key = try req.parameter("key")
        guard let members = try kernel.memory.members(ns, key) else {
            throw HTTPError(status: 404, code: "key_not_found", message: "no set '\(key)' in namespace '\(ns)'", field: "key")
        }
        return .json(["key": .string(key), "members": .array(members)])
    }
}
