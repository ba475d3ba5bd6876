import Foundation

/// Per-key and per-bucket hashes of a replicator's values for anti-entropy, kept up to date
/// lazily: a changed key is only re-hashed when the next digest is taken.
struct DigestIndex: Sendable {
    let bucketCount: Int
    private var keyHashes: [String: UInt64] = [:]
    private var buckets: [UInt64]
    private var dirty: Set<String> = []

    init(buckets: Int) {
        bucketCount = buckets
        self.buckets = Array(repeating: 0, count: buckets)
    }

    func bucket(of key: String) -> Int { Int(StableHash.of(key) % UInt64(bucketCount)) }

    mutating func invalidate(_ key: String) { dirty.insert(key) }

    /// The hash of a key and its value's deterministic encoding.
    static func hash<V: Encodable>(key: String, value: V) -> UInt64 {
        var h = StableHash()
        h.combine(key)
        h.combine(bytes: (try? CRDTCoding.encode(value)) ?? Data())
        return h.value
    }

    private mutating func refresh<V: Encodable>(_ values: [String: V]) {
        for key in dirty {
            let b = bucket(of: key)
            if let old = keyHashes.removeValue(forKey: key) { buckets[b] ^= old }
            if let v = values[key] {
                let h = Self.hash(key: key, value: v)
                keyHashes[key] = h
                buckets[b] ^= h
            }
        }
        dirty = []
    }

    /// Every bucket's hash: the XOR of its keys' hashes.
    mutating func bucketHashes<V: Encodable>(_ values: [String: V]) -> [UInt64] {
        refresh(values)
        return buckets
    }

    /// The hash of one key's current value; nil when absent.
    mutating func hash<V: Encodable>(of key: String, in values: [String: V]) -> UInt64? {
        if dirty.contains(key) { refresh(values) }
        return keyHashes[key]
    }

    /// The hashes of every key in the given buckets.
    mutating func keyHashes<V: Encodable>(_ values: [String: V], inBuckets wanted: Set<Int>) -> [String: UInt64] {
        refresh(values)
        return keyHashes.filter { wanted.contains(bucket(of: $0.key)) }
    }
}
