// RingBuffer: a byte FIFO over one power-of-two block from a BufferPool.
//
// Keel keeps two per connection: pending input (an incomplete frame) and
// pending output (bytes the socket did not take). Both are empty almost
// always, so the ring holds no memory while empty: it takes a block on the
// first append and gives it back the moment it drains.
//
// Invariant: storage == nil ⇔ capacity == 0 ⇔ count == 0 (and head == 0);
// otherwise capacity is a power of two, 0 < count ≤ capacity and
// 0 ≤ head < capacity. Readable bytes run from head for count bytes, wrapping.
//
// ~Copyable: a copy would alias the block and free it twice. Dropping a ring
// that still holds memory is a bug (the pool would lose track of the block),
// so deinit checks that it was released.

/// A growable byte ring that holds memory only while it has content.
public struct RingBuffer: ~Copyable {
    private var storage: UnsafeMutableRawPointer?
    /// Size of the current block (0 when the ring holds no memory).
    public private(set) var capacity = 0
    private var head = 0
    /// Readable bytes.
    public private(set) var count = 0

    /// An empty ring holding no memory.
    public init() {}

    deinit {
        precondition(storage == nil, "ring dropped while holding \(capacity) bytes")
    }

    /// True when there is nothing to read (and so no memory held).
    @inline(__always)
    public var isEmpty: Bool { count == 0 }

    /// Appends `bytes`, growing to the next power of two if needed.
    /// The caller enforces any byte limit before appending.
    public mutating func append(_ bytes: UnsafeRawBufferPointer, pool: BufferPool) {
        guard !bytes.isEmpty else { return }
        grow(toHold: count + bytes.count, pool: pool)
        let block = storage.unsafelyUnwrapped
        let tail = (head + count) & (capacity - 1)
        let first = min(bytes.count, capacity - tail)
        (block + tail).copyMemory(from: bytes.baseAddress!, byteCount: first)
        if first < bytes.count {
            block.copyMemory(from: bytes.baseAddress! + first, byteCount: bytes.count - first)
        }
        count += bytes.count
    }

    private mutating func grow(toHold total: Int, pool: BufferPool) {
        guard total > capacity else { return }
        let size = pool.blockSize(for: total)
        let block = pool.take(size: size)
        if let old = storage {
            copyReadable(from: old, into: block)
            pool.give(old, size: capacity)
        }
        storage = block
        capacity = size
        head = 0
    }

    /// Drops the first `n` readable bytes; gives the block back when empty.
    public mutating func consume(_ n: Int, pool: BufferPool) {
        precondition(n >= 0 && n <= count, "consume(\(n)) with \(count) readable")
        guard n > 0 else { return }
        count -= n
        if count == 0 {
            removeAll(pool: pool)
        } else {
            head = (head + n) & (capacity - 1)
        }
    }

    /// Drops everything and gives the block back.
    public mutating func removeAll(pool: BufferPool) {
        if let block = storage {
            pool.give(block, size: capacity)
        }
        storage = nil
        capacity = 0
        head = 0
        count = 0
    }

    /// The readable bytes as at most two segments in order (the second is
    /// empty unless the content wraps): what writev wants.
    public func withReadableSegments<R>(
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        guard let block = storage else {
            return try body(UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0))
        }
        let first = min(count, capacity - head)
        return try body(
            UnsafeRawBufferPointer(start: block + head, count: first),
            UnsafeRawBufferPointer(start: block, count: count - first))
    }

    /// The readable bytes as one contiguous view, straightening the content
    /// first if it wraps (a copy into a fresh block from the pool).
    public mutating func withContiguousBytes<R>(
        pool: BufferPool, _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        if head + count > capacity, let old = storage {
            let block = pool.take(size: capacity)
            copyReadable(from: old, into: block)
            pool.give(old, size: capacity)
            storage = block
            head = 0
        }
        return try body(UnsafeRawBufferPointer(start: storage.map { $0 + head }, count: count))
    }

    /// Copies the first `destination.count` readable bytes out without consuming.
    public func copyPrefix(into destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count <= count, "prefix longer than the content")
        guard let block = storage, !destination.isEmpty else { return }
        let first = min(destination.count, capacity - head)
        destination.baseAddress!.copyMemory(from: block + head, byteCount: first)
        if first < destination.count {
            (destination.baseAddress! + first).copyMemory(from: block, byteCount: destination.count - first)
        }
    }

    private func copyReadable(from old: UnsafeMutableRawPointer, into block: UnsafeMutableRawPointer) {
        let first = min(count, capacity - head)
        block.copyMemory(from: old + head, byteCount: first)
        if first < count {
            (block + first).copyMemory(from: old, byteCount: count - first)
        }
    }

    /// Checks the ring's invariant (see the file header).
    public func checkInvariants() {
        if storage == nil {
            precondition(capacity == 0 && count == 0 && head == 0, "empty ring with state")
        } else {
            precondition(capacity > 0 && capacity.nonzeroBitCount == 1, "capacity \(capacity) not a power of two")
            precondition(count > 0, "a ring that holds memory must hold bytes")
            precondition(count <= capacity, "count \(count) over capacity \(capacity)")
            precondition(head >= 0 && head < capacity, "head \(head) outside the block")
        }
    }
}
