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

/// A FIFO ring that grows by doubling and reuses its storage (no
/// allocation once warmed up).
struct InFlightQueue {
    private var storage: [InFlight]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity { size *= 2 }
        storage = Array(repeating: InFlight(sentNs: 0, tag: 0), count: size)
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    mutating func append(_ value: InFlight) {
        if count == storage.count { grow() }
        storage.withUnsafeMutableBufferPointer { $0[(head &+ count) & ($0.count &- 1)] = value }
        count &+= 1
    }

    @inline(__always)
    mutating func removeFirst() -> InFlight? {
        guard count > 0 else { return nil }
        let value = storage.withUnsafeBufferPointer { $0[head] }
        head = (head &+ 1) & (storage.count &- 1)
        count &-= 1
        return value
    }

    mutating func removeAll() {
        head = 0
        count = 0
    }

    private mutating func grow() {
        let ordered = (0..<count).map { storage[(head + $0) & (storage.count - 1)] }
        storage = ordered + Array(repeating: InFlight(sentNs: 0, tag: 0), count: storage.count)
        head = 0
    }
}
