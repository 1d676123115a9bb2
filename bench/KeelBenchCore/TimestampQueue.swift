// TimestampQueue: per-connection FIFO of send times (ns). Echoes return in
// order, so the head is always the send time of the next reply.

/// A FIFO of Int64 that reuses its storage (no allocation once warmed up).
struct TimestampQueue {
    private var storage: [Int64] = []
    private var head = 0

    init(capacity: Int) {
        storage.reserveCapacity(capacity)
    }

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    mutating func append(_ value: Int64) {
        storage.append(value)
    }

    mutating func removeFirst() -> Int64? {
        guard head < storage.count else { return nil }
        let value = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4096 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return value
    }

    mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
        head = 0
    }
}
