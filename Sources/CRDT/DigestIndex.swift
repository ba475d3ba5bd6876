import Foundation
import JSONCodec

/// Per-key and per-bucket hashes of a replicator's values for anti-entropy, kept up to date
/// lazily: a changed key is only re-encoded when its hash or encoding is next asked for.
///
/// It also keeps each value's deterministic encoding, from which the hash is taken: state
/// transfers splice these bytes into messages and the shell persists them, so a value is encoded
/// once per change rather than once for the digest, once to size a message, once in the message
/// and once for the database (on a loaded machine JSON encoding is what a heal waits for).
struct DigestIndex: Sendable {
    struct Entry: Sendable {
        let hash: UInt64
        let bytes: Data
    }

    let bucketCount: Int
    private var entries: [String: Entry] = [:]
    private var buckets: [UInt64]
    private var dirty: Set<String> = []

    init(buckets: Int) {
        bucketCount = buckets
        self.buckets = Array(repeating: 0, count: buckets)
    }

    func bucket(of key: String) -> Int { Int(StableHash.of(key) % UInt64(bucketCount)) }

    mutating func invalidate(_ key: String) { dirty.insert(key) }

    /// The hash of a key and its value's deterministic encoding.
    static func hash(key: String, bytes: Data) -> UInt64 {
        var h = StableHash()
        h.combine(key)
        h.combine(bytes: bytes)
        return h.value
    }

    private mutating func refresh<V: Encodable & JSONWritable>(_ values: [String: V]) {
        for key in dirty { refresh(key, values) }
        dirty = []
    }

    private mutating func refresh<V: Encodable & JSONWritable>(_ key: String, _ values: [String: V]) {
        let b = bucket(of: key)
        if let old = entries.removeValue(forKey: key) { buckets[b] ^= old.hash }
        if let v = values[key] {
            let bytes = (try? CRDTCoding.encode(v)) ?? Data()
            let h = Self.hash(key: key, bytes: bytes)
            entries[key] = Entry(hash: h, bytes: bytes)
            buckets[b] ^= h
        }
    }

    /// Every bucket's hash: the XOR of its keys' hashes.
    mutating func bucketHashes<V: Encodable & JSONWritable>(_ values: [String: V]) -> [UInt64] {
        refresh(values)
        return buckets
    }

    /// The hash and encoding of one key's current value; nil when absent.
    mutating func entry<V: Encodable & JSONWritable>(of key: String, in values: [String: V]) -> Entry? {
        if dirty.remove(key) != nil { refresh(key, values) }
        return entries[key]
    }

    /// The hash of one key's current value; nil when absent.
    mutating func hash<V: Encodable & JSONWritable>(of key: String, in values: [String: V]) -> UInt64? {
        entry(of: key, in: values)?.hash
    }

    /// The hashes of every key in the given buckets.
    mutating func keyHashes<V: Encodable & JSONWritable>(_ values: [String: V], inBuckets wanted: Set<Int>) -> [String: UInt64] {
        refresh(values)
        var out: [String: UInt64] = [:]
        for (key, e) in entries where wanted.contains(bucket(of: key)) { out[key] = e.hash }
        return out
    }
}
