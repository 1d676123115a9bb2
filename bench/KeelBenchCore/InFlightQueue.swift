// InFlightQueue: per-connection FIFO of the requests awaiting replies: when
// each was sent (or, open loop, was due) and the tag its workload needs to
// judge the reply. Replies return in order, so the head always belongs to
// the next reply.

/// One request awaiting its reply.
struct InFlight {
    /// Send time (closed loop) or intended send time (open loop), ns.
    var sentNs: Int64
    /// What the workload needs to check the reply (see BenchWorkload).
    var tag: UInt64
}

/// A FIFO that reuses its storage (no allocation once warmed up).
struct InFlightQueue {
    private var storage: [InFlight] = []
    private var head = 0

    init(capacity: Int) {
        storage.reserveCapacity(capacity)
    }

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    mutating func append(_ value: InFlight) {
        storage.append(value)
    }

    mutating func removeFirst() -> InFlight? {
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
