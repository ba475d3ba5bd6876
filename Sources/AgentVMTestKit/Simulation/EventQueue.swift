/// A min-heap of timed events; events at the same time come out in the order they went in, so a
/// simulation never depends on heap internals.
public struct EventQueue<Element: Sendable>: Sendable {
    private struct Entry: Sendable {
        var at: Duration
        var seq: UInt64
        var element: Element
        func precedes(_ other: Entry) -> Bool { at < other.at || (at == other.at && seq < other.seq) }
    }

    private var heap: [Entry] = []
    private var nextSeq: UInt64 = 0

    public init() {}

    /// Events waiting.
    public var count: Int { heap.count }
    /// Whether nothing is waiting.
    public var isEmpty: Bool { heap.isEmpty }
    /// The time of the earliest event.
    public var nextTime: Duration? { heap.first?.at }

    /// Adds `element` due at `at`.
    public mutating func push(_ element: Element, at: Duration) {
        heap.append(Entry(at: at, seq: nextSeq, element: element))
        nextSeq &+= 1
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].precedes(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// Removes and returns the earliest event if it is due at or before `limit`.
    public mutating func pop(notAfter limit: Duration) -> (at: Duration, element: Element)? {
        guard let first = heap.first, first.at <= limit else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < heap.count && heap[l].precedes(heap[best]) { best = l }
                if r < heap.count && heap[r].precedes(heap[best]) { best = r }
                if best == i { break }
                heap.swapAt(i, best)
                i = best
            }
        }
        return (first.at, first.element)
    }

    /// Drops every waiting event.
    public mutating func removeAll() { heap.removeAll() }
}
