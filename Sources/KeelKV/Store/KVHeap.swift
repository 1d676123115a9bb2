// KVHeap: the store's memory, counted as it is taken and given back. Every
// block the store holds (entries, packs, intsets, list nodes, hash and
// sorted-set elements, bucket arrays, the expiry index, the instances of the
// general collections) is allocated and freed here, and the bytes malloc set
// aside for each (malloc_usable_size, what redis-server's zmalloc counts) are
// added to or taken from one counter. That counter is INFO's used_memory and
// what maxmemory is held against.
//
// Asking malloc instead (mallinfo2) walks every free chunk of every arena:
// 0.2 ms on a fresh server, 42 ms after half of a million keys were deleted
// at random, and every client waited that long for each INFO. Counting here
// costs a malloc_usable_size and a relaxed atomic add per block.
//
// Connection buffers are not counted: each client's are bounded by
// --max-pending-output and the request limit, and go back when it is quiet.

import Glibc
import KeelPosix
import Synchronization

/// The store's allocations, counted (see the file header).
enum KVHeap {
    /// Bytes of the store's blocks, as malloc sized them.
    static let usedBytes = Atomic<Int>(0)

    /// The most `usedBytes` was seen at (by notePeak).
    static let peakBytes = Atomic<Int>(0)

    /// The counted bytes now.
    static var used: Int { usedBytes.load(ordering: .relaxed) }

    /// Raises the peak to the bytes counted now (the maintenance tick and
    /// INFO call it: a peak between two looks is missed); the peak.
    @discardableResult
    static func notePeak() -> Int {
        let now = used
        return max(now, peakBytes.max(now, ordering: .relaxed).oldValue)
    }

    /// A block of at least `bytes`; nil when malloc fails.
    @inline(__always)
    static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
        guard let block = malloc(bytes) else { return nil }
        usedBytes.wrappingAdd(HeapMemory.blockBytes(block), ordering: .relaxed)
        return block
    }

    /// `count` zeroed elements of `stride` bytes (calloc: untouched pages of
    /// a large array cost no resident memory until written).
    static func allocateZeroed(_ count: Int, stride: Int) -> UnsafeMutableRawPointer? {
        guard let block = calloc(count, stride) else { return nil }
        usedBytes.wrappingAdd(HeapMemory.blockBytes(block), ordering: .relaxed)
        return block
    }

    /// `block` resized to `bytes` (realloc, which may move it); nil when
    /// malloc fails, `block` then unchanged.
    @inline(__always)
    static func reallocate(_ block: UnsafeMutableRawPointer?, _ bytes: Int) -> UnsafeMutableRawPointer? {
        let before = block.map { HeapMemory.blockBytes($0) } ?? 0
        guard let resized = realloc(block, bytes) else { return nil }
        usedBytes.wrappingAdd(HeapMemory.blockBytes(resized) &- before, ordering: .relaxed)
        return resized
    }

    /// Gives `block` back (nil: nothing).
    @inline(__always)
    static func release(_ block: UnsafeMutableRawPointer?) {
        guard let block else { return }
        usedBytes.wrappingSubtract(HeapMemory.blockBytes(block), ordering: .relaxed)
        free(block)
    }

    /// Counts a block malloc gave someone else on the store's behalf (a
    /// class instance an entry holds: KVObjects).
    static func adopt(_ block: UnsafeMutableRawPointer) {
        usedBytes.wrappingAdd(HeapMemory.blockBytes(block), ordering: .relaxed)
    }

    /// Stops counting `block`, about to be freed by its owner.
    static func disown(_ block: UnsafeMutableRawPointer) {
        usedBytes.wrappingSubtract(HeapMemory.blockBytes(block), ordering: .relaxed)
    }
}
