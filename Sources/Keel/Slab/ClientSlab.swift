// ClientSlab: all per-connection state of one loop, in one allocation made at
// start-up, found by index. A LIFO free list hands out the most recently freed
// slot first (its cache lines are the warmest).
//
// Invariants: live + (length of the free list) == capacity; every slot on the
// free list has fd == -1 and empty rings; every live slot has fd >= 0.

/// A fixed-capacity table of client slots with a free list and generations.
@usableFromInline
final class ClientSlab {
    /// Number of slots (the loop's client limit).
    @usableFromInline let capacity: Int
    @usableFromInline let slots: UnsafeMutablePointer<ClientSlot>
    @usableFromInline @exclusivity(unchecked) var freeHead: Int32
    /// Slots in use.
    @usableFromInline @exclusivity(unchecked) var liveCount = 0

    @usableFromInline
    init(capacity: Int) {
        precondition(capacity > 0 && capacity < Int(EventToken.firstReservedSlot), "slab capacity \(capacity)")
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        for index in 0..<capacity {
            (slots + index).initialize(to: ClientSlot())
            slots[index].nextFree = index + 1 < capacity ? Int32(index + 1) : -1
        }
        freeHead = 0
    }

    /// Every slot must have been freed (rings released) before the slab goes.
    deinit {
        precondition(liveCount == 0, "slab dropped with \(liveCount) live slots")
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// True when no slot is free.
    @inlinable @inline(__always) var isFull: Bool { freeHead < 0 }

    /// Takes a free slot for `fd` and moves its generation on; nil when full.
    @usableFromInline
    func allocate(fd: Int32) -> UInt32? {
        precondition(fd >= 0, "allocating a slot for fd \(fd)")
        guard freeHead >= 0 else { return nil }
        let index = Int(freeHead)
        precondition(!slots[index].isLive, "free list holds live slot \(index)")
        freeHead = slots[index].nextFree
        slots[index].nextFree = -1
        slots[index].fd = fd
        slots[index].generation &+= 1
        slots[index].lifecycle = ConnectionLifecycle()
        slots[index].flags = []
        slots[index].registered = []
        liveCount += 1
        return UInt32(index)
    }

    /// Returns a live slot to the free list, giving its ring memory back.
    /// The caller has closed the descriptor.
    @usableFromInline
    func free(_ slot: UInt32, pool: BufferPool) {
        let index = Int(slot)
        precondition(index < capacity && slots[index].isLive, "freeing slot \(slot) that is not live")
        slots[index].input.removeAll(pool: pool)
        slots[index].output.removeAll(pool: pool)
        slots[index].fd = -1
        slots[index].lifecycle = ConnectionLifecycle()
        slots[index].flags = []
        slots[index].registered = []
        slots[index].nextFree = freeHead
        freeHead = Int32(index)
        liveCount -= 1
    }

    /// The slot at `slot`, borrowed or mutated in place. Addressors rather
    /// than _read/_modify: a coroutine accessor heap-allocates its frame in
    /// unoptimised builds, once per access; an addressor is just a pointer.
    @inlinable @inline(__always)
    subscript(slot: UInt32) -> ClientSlot {
        unsafeAddress {
            assert(Int(slot) < capacity)
            return UnsafePointer(slots + Int(slot))
        }
        unsafeMutableAddress {
            assert(Int(slot) < capacity)
            return slots + Int(slot)
        }
    }

    /// Whether `slot` holds a connection (for invariant checks).
    func isLive(_ slot: UInt32) -> Bool {
        Int(slot) < capacity && slots[Int(slot)].isLive
    }

    /// Whether `slot` is live and still has `generation` (its ID is current).
    @inlinable @inline(__always)
    func isCurrent(slot: UInt32, generation: UInt32) -> Bool {
        Int(slot) < capacity && slots[Int(slot)].isLive && slots[Int(slot)].generation == generation
    }

    /// Calls `body` with every live slot index (for shutdown and tests).
    @usableFromInline
    func forEachLive(_ body: (UInt32) -> Void) {
        for index in 0..<capacity where slots[index].isLive {
            body(UInt32(index))
        }
    }

    /// Checks the slab's invariants (see the file header); O(capacity).
    @usableFromInline
    func checkInvariants() {
        var free = 0
        var cursor = freeHead
        while cursor >= 0 {
            precondition(free < capacity, "free list has a cycle")
            let index = Int(cursor)
            precondition(!slots[index].isLive, "live slot \(index) on the free list")
            precondition(slots[index].input.isEmpty && slots[index].output.isEmpty, "free slot \(index) holds bytes")
            free += 1
            cursor = slots[index].nextFree
        }
        var live = 0
        for index in 0..<capacity {
            slots[index].input.checkInvariants()
            slots[index].output.checkInvariants()
            if slots[index].isLive { live += 1 }
        }
        precondition(live == liveCount, "liveCount \(liveCount) but \(live) live slots")
        precondition(live + free == capacity, "\(live) live + \(free) free != \(capacity)")
    }
}
