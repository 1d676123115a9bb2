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
    /// The ring: it grows (doubling) as bytes come, up to `capacity`, so
    /// a large repl-backlog-size costs memory only once the stream has
    /// filled it, as redis-server's backlog grows with its stream.
    private var ring: [UInt8] = []
    private var head = 0
    /// Bytes held (at most `capacity`).
    private(set) var count = 0
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0, "a backlog of \(capacity) bytes")
        self.capacity = capacity
    }

    /// Adds `bytes` at the end, the oldest bytes giving way.
    mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        if count + bytes.count > ring.count && ring.count < capacity {
            let size = min(capacity, max(2 * ring.count, count + bytes.count, 16 << 10))
            var grown = suffix(count)
            grown.append(contentsOf: repeatElement(0, count: size - grown.count))
            ring = grown
            head = 0
        }
        let size = ring.count
        let kept = min(bytes.count, size)
        let tail = (head + count) % size
        ring.withUnsafeMutableBytes { ring in
            bytes.withUnsafeBytes { bytes in
                let source = bytes.baseAddress! + (bytes.count - kept)
                let first = min(kept, size - tail)
                (ring.baseAddress! + tail).copyMemory(from: source, byteCount: first)
                if first < kept { ring.baseAddress!.copyMemory(from: source + first, byteCount: kept - first) }
            }
        }
        let total = count + kept
        if total > size { head = (head + total - size) % size }
        count = min(total, size)
        assert(head >= 0 && head < size && count <= size && size <= capacity, "backlog head \(head), count \(count)")
    }

    /// The last `last` bytes held, oldest first (`last` ≤ `count`).
    func suffix(_ last: Int) -> [UInt8] {
        precondition(last >= 0 && last <= count, "\(last) of \(count) backlog bytes")
        guard last > 0 else { return [] }
        let size = ring.count
        let start = (head + count - last) % size
        let first = min(last, size - start)
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
