/// A growable FIFO ring buffer: O(1) append, pop and push-front, no allocation until the first
/// element, and storage reused once grown (so a steady send/receive loop never allocates). The
/// capacity is always a power of two, so wrapping is a mask, not a division.
struct MessageRing<Element> {
    private var storage: ContiguousArray<Element?> = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }
    /// Slots allocated.
    var capacity: Int { storage.count }
    var first: Element? { count == 0 ? nil : storage[head] }

    mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head + count) & (storage.count - 1)] = element
        count += 1
    }

    mutating func prepend(_ element: Element) {
        if count == storage.count { grow() }
        head = (head - 1 + storage.count) & (storage.count - 1)
        storage[head] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        // Moved out, not copied: no retain and release of the element's references.
        let element = storage[head].take()
        head = (head + 1) & (storage.count - 1)
        count -= 1
        return element
    }

    /// Elements oldest first.
    func elements() -> [Element] {
        var out: [Element] = []
        out.reserveCapacity(count)
        for i in 0..<count { if let e = storage[(head + i) & (storage.count - 1)] { out.append(e) } }
        return out
    }

    /// The newest `n` elements, oldest first.
    func suffix(_ n: Int) -> [Element] {
        let take = max(0, min(n, count))
        var out: [Element] = []
        out.reserveCapacity(take)
        for i in (count - take)..<count { if let e = storage[(head + i) & (storage.count - 1)] { out.append(e) } }
        return out
    }

    /// Empties the ring and frees its storage.
    mutating func removeAll() {
        storage = []
        head = 0
        count = 0
    }

    private mutating func grow() {
        let newCapacity = max(4, storage.count * 2)
        var bigger = ContiguousArray<Element?>(repeating: nil, count: newCapacity)
        // Moved, not copied: the old slots are left nil, so growing retains and releases nothing.
        for i in 0..<count { bigger[i] = storage[(head + i) & (storage.count - 1)].take() }
        storage = bigger
        head = 0
    }
}
