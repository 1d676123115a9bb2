// KVBacklog: the last bytes of the replication stream (redis-server's
// repl-backlog). A replica whose connection dropped asks with PSYNC for the
// stream from the offset it had read to; while those bytes are still here it
// gets them and goes on (+CONTINUE), instead of a new snapshot of the whole
// dataset.
//
// A ring of `capacity` bytes: `count` of them held, the oldest at `head`.
// The stream's offsets are redis-server's: the stream's first byte is 1, and
// the bytes held are the last `count` up to the stream's offset.

/// The end of the replication stream (see the file header).
struct KVBacklog {
    private var ring: [UInt8]
    private var head = 0
    /// Bytes held (at most `capacity`).
    private(set) var count = 0

    var capacity: Int { ring.count }

    init(capacity: Int) {
        precondition(capacity > 0, "a backlog of \(capacity) bytes")
        ring = [UInt8](repeating: 0, count: capacity)
    }

    /// Adds `bytes` at the end, the oldest bytes giving way.
    mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let kept = min(bytes.count, capacity)
        let tail = (head + count) % capacity
        let capacity = capacity
        ring.withUnsafeMutableBytes { ring in
            bytes.withUnsafeBytes { bytes in
                let source = bytes.baseAddress! + (bytes.count - kept)
                let first = min(kept, capacity - tail)
                (ring.baseAddress! + tail).copyMemory(from: source, byteCount: first)
                if first < kept { ring.baseAddress!.copyMemory(from: source + first, byteCount: kept - first) }
            }
        }
        let total = count + kept
        if total > capacity { head = (head + total - capacity) % capacity }
        count = min(total, capacity)
        assert(head >= 0 && head < capacity && count <= capacity, "backlog head \(head), count \(count)")
    }

    /// The last `last` bytes held, oldest first (`last` ≤ `count`).
    func suffix(_ last: Int) -> [UInt8] {
        precondition(last >= 0 && last <= count, "\(last) of \(count) backlog bytes")
        let start = (head + count - last) % capacity
        let first = min(last, capacity - start)
        return Array(ring[start..<start + first]) + Array(ring[0..<last - first])
    }

    /// The same bytes, the oldest dropped past `newCapacity` (CONFIG SET
    /// repl-backlog-size).
    func resized(to newCapacity: Int) -> KVBacklog {
        var resized = KVBacklog(capacity: newCapacity)
        resized.append(suffix(min(count, newCapacity)))
        return resized
    }
}
