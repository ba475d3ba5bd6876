/// A FIFO of messages for a mailbox's hot path: a chain of chunks, so append, pop and push-front are
/// O(1) and nothing is ever moved or copied to grow (a growing ring moves every element, and a large
/// one is fresh memory the kernel must fault in and zero). Chunks double from 4 slots up to
/// `maxChunk` (256 messages, about 28 KB, well under malloc's mmap threshold); an emptied chunk is
/// kept as a spare for the next append. Nothing is allocated until the first element.
///
/// A reference type so a mailbox can hand a whole FIFO from its senders' half to its receiver's half
/// by swapping one reference. It has no copy-on-write: each FIFO has one owner at a time, and it is
/// touched only under its mailbox's locks, hence `@unchecked Sendable`.
final class MessageFIFO: @unchecked Sendable {
    /// Slots `start..<end` hold live messages.
    private final class Chunk {
        let slots: UnsafeMutablePointer<BrokerMessage>
        let capacity: Int
        var start = 0
        var end = 0
        var next: Chunk?

        init(capacity: Int) {
            self.capacity = capacity
            slots = .allocate(capacity: capacity)
        }

        deinit {
            (slots + start).deinitialize(count: end - start)
            slots.deallocate()
        }
    }

    static let maxChunk = 256

    private var head: Chunk?
    private var tail: Chunk?
    private var spare: Chunk?
    /// Messages held.
    private(set) var count = 0
    /// Slots allocated, spare included.
    private(set) var capacity = 0

    init() {}

    deinit {
        removeAll()
    }

    var isEmpty: Bool { count == 0 }

    func append(_ m: BrokerMessage) {
        let t: Chunk
        if let last = tail, last.end < last.capacity {
            t = last
        } else {
            t = makeChunk(after: tail?.capacity ?? 0)
            if let last = tail { last.next = t } else { head = t }
            tail = t
        }
        (t.slots + t.end).initialize(to: m)
        t.end += 1
        count += 1
    }

    func prepend(_ m: BrokerMessage) {
        let h: Chunk
        if let first = head, first.start > 0 {
            h = first
        } else {
            h = makeChunk(after: 0)
            h.start = h.capacity
            h.end = h.capacity
            h.next = head
            head = h
            if tail == nil { tail = h }
        }
        h.start -= 1
        (h.slots + h.start).initialize(to: m)
        count += 1
    }

    func popFirst() -> BrokerMessage? {
        guard count > 0, let h = head else { return nil }
        let m = (h.slots + h.start).move()
        h.start += 1
        count -= 1
        if h.start == h.end {
            if let next = h.next {
                head = next
                h.next = nil
                recycle(h)
            } else {
                h.start = 0
                h.end = 0
            }
        }
        return m
    }

    /// Copies of the elements, oldest first.
    func elements() -> [BrokerMessage] {
        var out: [BrokerMessage] = []
        out.reserveCapacity(count)
        var c = head
        while let chunk = c {
            for i in chunk.start..<chunk.end { out.append(chunk.slots[i]) }
            c = chunk.next
        }
        return out
    }

    /// Empties the FIFO and frees its storage.
    func removeAll() {
        // Unlinked one by one: a long chain released from its head would recurse once per chunk.
        var c = head
        head = nil
        tail = nil
        spare = nil
        while let chunk = c {
            c = chunk.next
            chunk.next = nil
        }
        count = 0
        capacity = 0
    }

    /// The spare if it is large enough, else a new chunk twice the size of `previous` (4 to `maxChunk`).
    private func makeChunk(after previous: Int) -> Chunk {
        let size = min(MessageFIFO.maxChunk, max(4, previous * 2))
        if let s = spare, s.capacity >= size {
            spare = nil
            return s
        }
        capacity += size
        return Chunk(capacity: size)
    }

    private func recycle(_ chunk: Chunk) {
        chunk.start = 0
        chunk.end = 0
        if let s = spare, s.capacity >= chunk.capacity {
            capacity -= chunk.capacity
            return
        }
        if let s = spare { capacity -= s.capacity }
        spare = chunk
    }
}
