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
@usableFromInline package struct RingBuffer: ~Copyable {
    @usableFromInline var storage: UnsafeMutableRawPointer?
    /// Size of the current block (0 when the ring holds no memory).
    @inlinable package var capacity: Int { _capacity }
    @usableFromInline var _capacity = 0
    @usableFromInline var head = 0
    /// Readable bytes.
    @inlinable package var count: Int { _count }
    @usableFromInline var _count = 0

    /// An empty ring holding no memory.
    @inlinable package init() {}

    // Inlinable, as every hot method is: `package` types get no automatic
    // cross-module optimisation, and the loop (specialised in the
    // application's module) drops a ring on every read.
    @inlinable deinit {
        precondition(storage == nil, "ring dropped while holding \(capacity) bytes")
    }

    /// True when there is nothing to read (and so no memory held).
    @inlinable @inline(__always)
    package var isEmpty: Bool { count == 0 }

    /// Appends `bytes`, growing to the next power of two if needed. Returns
    /// false, having appended nothing, when the memory for a larger block
    /// cannot be had (the caller closes the connection it serves: running
    /// out of memory must cost one client, not the process). The caller
    /// enforces any byte limit before appending.
    @inlinable
    package mutating func append(_ bytes: UnsafeRawBufferPointer, pool: BufferPool) -> Bool {
        guard !bytes.isEmpty else { return true }
        guard grow(toHold: count + bytes.count, pool: pool) else { return false }
        let block = storage.unsafelyUnwrapped
        let tail = (head + count) & (capacity - 1)
        let first = min(bytes.count, capacity - tail)
        (block + tail).copyMemory(from: bytes.baseAddress!, byteCount: first)
        if first < bytes.count {
            block.copyMemory(from: bytes.baseAddress! + first, byteCount: bytes.count - first)
        }
        _count += bytes.count
        return true
    }

    @inlinable
    mutating func grow(toHold total: Int, pool: BufferPool) -> Bool {
        guard total > capacity else { return true }
        let size = pool.blockSize(for: total)
        guard let block = pool.take(size: size) else { return false }
        if let old = storage {
            copyReadable(from: old, into: block)
            pool.give(old, size: capacity)
        }
        storage = block
        _capacity = size
        head = 0
        return true
    }

    /// Drops the first `n` readable bytes; gives the block back when empty.
    @inlinable
    package mutating func consume(_ n: Int, pool: BufferPool) {
        precondition(n >= 0 && n <= count, "consume(\(n)) with \(count) readable")
        guard n > 0 else { return }
        _count -= n
        if count == 0 {
            removeAll(pool: pool)
        } else {
            head = (head + n) & (capacity - 1)
        }
    }

    /// Drops everything and gives the block back.
    @inlinable
    package mutating func removeAll(pool: BufferPool) {
        if let block = storage {
            pool.give(block, size: capacity)
        }
        storage = nil
        _capacity = 0
        head = 0
        _count = 0
    }

    /// The readable bytes as at most two segments in order (the second is
    /// empty unless the content wraps): what writev wants.
    @inlinable
    package func withReadableSegments<R>(
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
    /// first if it wraps. Straightening rotates the block in place, so it
    /// never needs memory and cannot fail.
    @inlinable
    package mutating func withContiguousBytes<R>(
        _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        if head + count > capacity, let block = storage {
            Self.rotateLeft(block, count: capacity, by: head)
            head = 0
        }
        return try body(UnsafeRawBufferPointer(start: storage.map { $0 + head }, count: count))
    }

    /// Rotates `count` bytes at `base` left by `shift` (the byte at `shift`
    /// moves to 0) by block swaps (Gries and Mills): each step swaps the
    /// shorter part into its final place, O(count) copies in all, through a
    /// small buffer on the stack.
    @usableFromInline
    static func rotateLeft(_ base: UnsafeMutableRawPointer, count: Int, by shift: Int) {
        precondition(shift >= 0 && shift <= count)
        var start = 0
        var left = shift
        var right = count - shift
        while left > 0 && right > 0 {
            if left < right {
                swapRanges(base + start, base + start + right, length: left)
                right -= left
            } else if left > right {
                swapRanges(base + start, base + start + left, length: right)
                start += right
                left -= right
            } else {
                swapRanges(base + start, base + start + left, length: left)
                return
            }
        }
    }

    @usableFromInline
    static func swapRanges(_ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, length: Int) {
        withUnsafeTemporaryAllocation(byteCount: 1_024, alignment: 16) { scratch in
            let temporary = scratch.baseAddress!
            var offset = 0
            while offset < length {
                let chunk = min(1_024, length - offset)
                temporary.copyMemory(from: a + offset, byteCount: chunk)
                (a + offset).copyMemory(from: b + offset, byteCount: chunk)
                (b + offset).copyMemory(from: temporary, byteCount: chunk)
                offset += chunk
            }
        }
    }

    /// Copies the first `destination.count` readable bytes out without consuming.
    @inlinable
    package func copyPrefix(into destination: UnsafeMutableRawBufferPointer) {
        precondition(destination.count <= count, "prefix longer than the content")
        guard let block = storage, !destination.isEmpty else { return }
        let first = min(destination.count, capacity - head)
        destination.baseAddress!.copyMemory(from: block + head, byteCount: first)
        if first < destination.count {
            (destination.baseAddress! + first).copyMemory(from: block, byteCount: destination.count - first)
        }
    }

    @inlinable
    func copyReadable(from old: UnsafeMutableRawPointer, into block: UnsafeMutableRawPointer) {
        let first = min(count, capacity - head)
        block.copyMemory(from: old + head, byteCount: first)
        if first < count {
            (block + first).copyMemory(from: old, byteCount: count - first)
        }
    }

    /// Checks the ring's invariant (see the file header).
    @usableFromInline package func checkInvariants() {
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
