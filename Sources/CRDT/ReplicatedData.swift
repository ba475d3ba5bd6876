import Foundation
import JSONCodec

/// A state-based replicated data type (CvRDT): replicas converge by merging whole states.
///
/// `merge` must be a join: commutative, associative and idempotent. Equality and the encoding
/// cover the replicated state only, never the pending delta. `read(from:)` (`JSONReadable`) and
/// `write(to:)` (`JSONWritable`) are the fast forms of `init(from:)` and `encode(to:)`: the same
/// value from the same bytes, the same bytes from the same value.
public protocol ReplicatedData: Sendable, Hashable, Codable, JSONReadable, JSONWritable {
    /// Joins `other` into this state.
    mutating func merge(_ other: Self)

    /// Whether this state still holds entries written by `removed` (see `prune(removed:into:)`).
    func needsPruning(from removed: ReplicaID) -> Bool

    /// Collapses the entries of `removed` into `survivor`, so a node that left stops costing space.
    /// Run by exactly one replica (the pruning owner) once every replica has seen all of
    /// `removed`'s updates; the others run `pruningCleanup(removed:)`. See docs/crdt.md.
    mutating func prune(removed: ReplicaID, into survivor: ReplicaID)

    /// Drops the entries of `removed` without collapsing them: what every non-owner replica does,
    /// before merging, once it knows the owner pruned `removed`.
    mutating func pruningCleanup(removed: ReplicaID)
}

/// A replicated data type whose mutators also record a delta: a small state that, merged into any
/// replica, has the same effect as the mutation (a delta-state CRDT, Almeida et al. 2018).
public protocol DeltaReplicatedData: ReplicatedData {
    /// The join of the deltas of every mutation since the last `resetDelta()`, or nil when none.
    var delta: Self? { get }

    /// Merges a delta received from another replica; the same as `merge` for every type here.
    mutating func mergeDelta(_ delta: Self)

    /// Forgets the accumulated delta (after it has been handed to the replicator).
    mutating func resetDelta()
}

extension DeltaReplicatedData {
    public mutating func mergeDelta(_ delta: Self) { merge(delta) }
}

extension ReplicatedData {
    /// The join of this state and `other`, leaving both unchanged.
    public func merging(_ other: Self) -> Self {
        var copy = self
        copy.merge(other)
        return copy
    }

    public func needsPruning(from removed: ReplicaID) -> Bool { false }
    public mutating func prune(removed: ReplicaID, into survivor: ReplicaID) {}
    public mutating func pruningCleanup(removed: ReplicaID) {}
}

/// The deterministic encoding every replicated type uses: JSON with sorted keys, and every
/// collection without a natural order written sorted, so equal states encode to equal bytes.
public enum CRDTCoding {
    /// Encodes `value` deterministically (with `JSONWriter` when `T` is `JSONWritable`).
    @inlinable
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        if let w = value as? any JSONWritable {
            var writer = JSONWriter()
            try w.write(to: &writer)
            return Data(writer.bytes)
        }
        return try encodeWithFoundation(value)
    }

    /// `encode` for a type known to write itself: no dynamic cast, no existential box.
    @inlinable
    public static func encode<T: Encodable & JSONWritable>(_ value: T) throws -> Data {
        var writer = JSONWriter()
        try value.write(to: &writer)
        return Data(writer.bytes)
    }

    /// `encode` through `JSONEncoder`: the reference `JSONWritable` types are held to.
    public static func encodeWithFoundation<T: Encodable>(_ value: T) throws -> Data {
        try JSONWriter.encodeWithFoundation(value)
    }

    /// Decodes a value written by `encode` (with `JSONReader` when `T` is `JSONReadable`).
    @inlinable
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try JSONReader.decode(type, from: data)
    }

    /// Bytes used only to order values that have no natural order; empty if encoding fails,
    /// which only happens for values that could not be replicated anyway.
    @usableFromInline
    static func sortKey<T: Encodable>(_ value: T) -> [UInt8] {
        if let s = value as? String { return Array(s.utf8) }
        return (try? encode(value)).map { Array($0) } ?? []
    }

    static func lexicographicallyPrecedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }
}

/// A stable 64-bit FNV-1a hash: unlike `Hasher`, the same on every process and run, so replicas can
/// compare digests.
public struct StableHash: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    /// Feeds bytes into the hash.
    public mutating func combine<S: Sequence>(bytes: S) where S.Element == UInt8 {
        // Contiguous bytes (arrays, Data, string views) are hashed in one tight loop: called
        // unspecialized from another module, iterating a generic sequence costs a call per byte.
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in combine(buffer) }
        if done != nil { return }
        for b in bytes {
            value ^= UInt64(b)
            value = value &* 0x0000_0100_0000_01b3
        }
    }

    private mutating func combine(_ buffer: UnsafeBufferPointer<UInt8>) {
        var v = value
        for b in buffer {
            v ^= UInt64(b)
            v = v &* 0x0000_0100_0000_01b3
        }
        value = v
    }

    /// Feeds a string's UTF-8 bytes and a separator, so ("ab","c") and ("a","bc") differ.
    public mutating func combine(_ string: String) {
        combine(bytes: string.utf8)
        combine(bytes: CollectionOfOne(0xff))
    }

    /// The hash of a string.
    public static func of(_ string: String) -> UInt64 {
        var h = StableHash()
        h.combine(string)
        return h.value
    }
}
