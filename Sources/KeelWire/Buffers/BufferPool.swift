// BufferPool: per-loop free lists of power-of-two memory blocks for the
// client rings.
//
// Why: a ring gives its memory back whenever it empties, so an idle
// connection holds no buffer. Without a pool that would be a malloc and a
// free per read under pipelined load (every read that ends mid-frame parks a
// tail). The pool turns those into free-list pops, and its retained bytes are
// bounded so it never hoards memory after a burst.
//
// Blocks come from a BlockMemory: the server's (BlockMemory.system) maps
// blocks larger than the largest retained size (a long message, a slow
// reader's backlog) from the kernel and unmaps them on return, not taken from
// malloc: glibc raises its own mmap threshold after the first large free, so
// later large blocks would come from the heap and stay resident after the
// burst.
//
// Invariants: every retained block has a power-of-two size in
// [minimumBlockBytes, maximumRetainedBlockBytes]; retainedBytes is the sum of
// their sizes and never exceeds retainedBytesLimit. Single-threaded: owned by
// one loop.

/// Power-of-two memory blocks with bounded reuse; owned by one event loop.
@usableFromInline package final class BufferPool {
    /// The smallest block handed out.
    @usableFromInline package let minimumBlockBytes: Int
    /// Blocks larger than this are freed on return, never retained.
    @usableFromInline package let maximumRetainedBlockBytes: Int
    /// The most memory kept on the free lists at once.
    @usableFromInline package let retainedBytesLimit: Int

    /// Free blocks, one list per size class (class i holds minimumBlockBytes << i).
    @usableFromInline @exclusivity(unchecked) var freeLists: [[UnsafeMutableRawPointer]]
    /// Bytes currently kept on the free lists.
    @inlinable package var retainedBytes: Int { _retainedBytes }
    @usableFromInline @exclusivity(unchecked) var _retainedBytes = 0
    /// Bytes currently handed out to rings.
    @inlinable package var outstandingBytes: Int { _outstandingBytes }
    @usableFromInline @exclusivity(unchecked) var _outstandingBytes = 0
    /// Where blocks the free lists cannot give come from.
    @usableFromInline let memory: BlockMemory
    /// How many times the pool allocated a block (for allocation tests).
    @inlinable package var systemAllocations: Int { _systemAllocations }
    @usableFromInline @exclusivity(unchecked) var _systemAllocations = 0
    /// How many times the block memory could not provide a block.
    @inlinable package var failedAllocations: Int { _failedAllocations }
    @usableFromInline @exclusivity(unchecked) var _failedAllocations = 0
    /// How many blocks have been taken in all: a cheap sign of activity.
    @inlinable package var takes: Int { _takes }
    @usableFromInline @exclusivity(unchecked) var _takes = 0

    /// - Parameters:
    ///   - minimumBlockBytes: smallest block, a power of two (default 256).
    ///   - maximumRetainedBlockBytes: largest block worth keeping (default 1 MiB,
    ///     the output high watermark, so a reader's backlog reuses blocks too).
    ///   - retainedBytesLimit: free-list budget in bytes (default 4 MiB).
    ///   - memory: where new blocks come from (default Swift's allocator;
    ///     the server passes `.system`).
    @usableFromInline package init(
        minimumBlockBytes: Int = 256,
        maximumRetainedBlockBytes: Int = 1 << 20,
        retainedBytesLimit: Int = 4 << 20,
        memory: BlockMemory = .swiftHeap
    ) {
        precondition(minimumBlockBytes > 0 && minimumBlockBytes.nonzeroBitCount == 1)
        precondition(maximumRetainedBlockBytes >= minimumBlockBytes)
        precondition(maximumRetainedBlockBytes.nonzeroBitCount == 1)
        self.minimumBlockBytes = minimumBlockBytes
        self.maximumRetainedBlockBytes = maximumRetainedBlockBytes
        self.retainedBytesLimit = retainedBytesLimit
        self.memory = memory
        let classes =
            maximumRetainedBlockBytes.trailingZeroBitCount
            - minimumBlockBytes.trailingZeroBitCount + 1
        freeLists = (0..<classes).map { index in
            var list: [UnsafeMutableRawPointer] = []
            // Enough room that pushing a block back never reallocates the list.
            list.reserveCapacity(max(1, retainedBytesLimit / (minimumBlockBytes << index)))
            return list
        }
    }

    deinit {
        precondition(outstandingBytes == 0, "a ring still holds \(outstandingBytes) pool bytes")
        for (index, list) in freeLists.enumerated() {
            for block in list { release(block, size: minimumBlockBytes << index) }
        }
    }

    /// The block size the pool hands out for a request of `bytes`.
    @inlinable @inline(__always)
    package func blockSize(for bytes: Int) -> Int {
        if bytes <= minimumBlockBytes { return minimumBlockBytes }
        return 1 << (Int.bitWidth - (bytes - 1).leadingZeroBitCount)
    }

    /// A block of exactly `size` bytes (a power of two, at least the
    /// minimum), or nil when the block memory cannot provide it (an
    /// address-space limit, or no overcommit): the caller fails only the
    /// connection it serves.
    @inlinable
    package func take(size: Int) -> UnsafeMutableRawPointer? {
        assert(size >= minimumBlockBytes && size.nonzeroBitCount == 1)
        if size <= maximumRetainedBlockBytes {
            let index = sizeClass(of: size)
            if let block = freeLists[index].popLast() {
                _retainedBytes -= size
                return handOut(block, size: size)
            }
        }
        return allocate(size: size)
    }

    /// A new block from the block memory, when the free list has none: out
    /// of line, so the inlined free-list path stays small.
    @usableFromInline
    func allocate(size: Int) -> UnsafeMutableRawPointer? {
        guard let block = memory.allocate(size, size > maximumRetainedBlockBytes) else {
            _failedAllocations += 1
            return nil
        }
        _systemAllocations += 1
        return handOut(block, size: size)
    }

    /// The bookkeeping of every block handed out, from a free list or new.
    @inlinable @inline(__always)
    func handOut(_ block: UnsafeMutableRawPointer, size: Int) -> UnsafeMutableRawPointer {
        _outstandingBytes += size
        _takes &+= 1
        #if DEBUG
            noteHandedOut(block, size: size)
        #endif
        return block
    }

    /// Returns a block taken with `take(size:)`.
    @inlinable
    package func give(_ block: UnsafeMutableRawPointer, size: Int) {
        assert(size >= minimumBlockBytes && size.nonzeroBitCount == 1)
        precondition(outstandingBytes >= size, "returning more than was taken")
        #if DEBUG
            noteReturned(block, size: size)
        #endif
        _outstandingBytes -= size
        if size <= maximumRetainedBlockBytes && retainedBytes + size <= retainedBytesLimit {
            let index = sizeClass(of: size)
            if freeLists[index].count < freeLists[index].capacity {
                freeLists[index].append(block)
                _retainedBytes += size
                return
            }
        }
        release(block, size: size)
    }

    /// Frees every retained block (e.g. after a burst, or at shutdown).
    @usableFromInline package func trim() {
        for index in freeLists.indices {
            for block in freeLists[index] { release(block, size: minimumBlockBytes << index) }
            freeLists[index].removeAll(keepingCapacity: true)
        }
        _retainedBytes = 0
    }

    @usableFromInline
    func release(_ block: UnsafeMutableRawPointer, size: Int) {
        memory.release(block, size, size > maximumRetainedBlockBytes)
    }

    #if DEBUG
        /// Debug builds (the tests): the blocks handed out and not yet
        /// returned, with their sizes. Rings are handed their pool on every
        /// call and pools may draw on different memory (Swift's heap, the
        /// system's malloc and mmap), so a block given back to the wrong pool,
        /// or with the wrong size, would be freed the wrong way: stop there.
        @usableFromInline var handedOut: [UnsafeMutableRawPointer: Int] = [:]

        @usableFromInline
        func noteHandedOut(_ block: UnsafeMutableRawPointer, size: Int) {
            precondition(handedOut.updateValue(size, forKey: block) == nil, "block \(block) handed out twice")
        }

        @usableFromInline
        func noteReturned(_ block: UnsafeMutableRawPointer, size: Int) {
            let taken = handedOut.removeValue(forKey: block)
            precondition(taken != nil, "block \(block) was not handed out by this pool")
            precondition(taken == size, "block \(block) of \(taken!) bytes returned as \(size)")
        }
    #endif

    @inlinable @inline(__always)
    func sizeClass(of size: Int) -> Int {
        size.trailingZeroBitCount - minimumBlockBytes.trailingZeroBitCount
    }

    /// Checks the pool's bookkeeping; O(retained blocks).
    @usableFromInline package func checkInvariants() {
        var sum = 0
        for (index, list) in freeLists.enumerated() {
            sum += list.count * (minimumBlockBytes << index)
        }
        precondition(sum == retainedBytes, "retained bytes \(retainedBytes) != \(sum) on the lists")
        precondition(retainedBytes <= retainedBytesLimit, "pool over its budget")
        precondition(outstandingBytes >= 0)
        #if DEBUG
            precondition(handedOut.values.reduce(0, +) == outstandingBytes, "outstanding bytes != blocks handed out")
        #endif
    }
}
