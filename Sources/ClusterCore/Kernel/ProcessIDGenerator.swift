import Synchronization

/// Makes process ids `<nodeID>-<base-36 counter>`: unique within a node by the counter and across a
/// cluster by the node prefix, and short enough to be stored inline in a `String`.
struct ProcessIDGenerator: ~Copyable {
    let prefix: String
    private let counter = Atomic<UInt64>(0)

    init(nodeID: String) { prefix = nodeID + "-" }

    /// The next id and its counter value.
    func next() -> (id: String, counter: UInt64) {
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return (prefix + String(n, radix: 36), n)
    }

    /// After recovery or restore: never hand out an id at or below one already in use.
    func observe(_ id: String) {
        guard id.hasPrefix(prefix), let n = UInt64(id.dropFirst(prefix.count), radix: 36) else { return }
        observe(counter: n)
    }

    /// Never hand out an id whose counter is at or below `n`.
    func observe(counter n: UInt64) {
        var current = counter.load(ordering: .relaxed)
        while current < n {
            let (exchanged, original) = counter.compareExchange(expected: current, desired: n, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
