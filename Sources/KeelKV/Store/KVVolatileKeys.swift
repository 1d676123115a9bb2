// KVVolatileKeys: a shard's keys that have an expiry, as a dense array of
// their entries. Each such entry keeps its index here (KVEntry.volatileSlot),
// so adding, removing and moving one is O(1) (removal moves the last entry
// into the hole), and active expiry samples keys uniformly by drawing random
// indices: no walk over keys without an expiry, and no second dict keyed by
// name as redis-server keeps (12 bytes per key with an expiry: the slot in
// the entry and the pointer here).
//
// Invariant (checkInvariants): entry i of the array has an expiry and its
// volatile slot is i.

import Glibc

/// The entries of one shard that have an expiry (see the file header).
struct KVVolatileKeys {
    private var entries: UnsafeMutablePointer<UnsafeMutableRawPointer>?
    private var capacity = 0
    private(set) var count = 0

    init() {}

    /// The entry at `index` (0..<count).
    subscript(index: Int) -> KVEntry {
        precondition(index >= 0 && index < count, "volatile index \(index) of \(count)")
        return KVEntry(entries.unsafelyUnwrapped[index])
    }

    /// Adds `entry` (which has an expiry) and records its slot. False when
    /// the array cannot grow.
    mutating func add(_ entry: KVEntry) -> Bool {
        if count == capacity {
            let grown = max(16, capacity * 2)
            guard let raw = KVHeap.reallocate(entries, grown * MemoryLayout<UnsafeMutableRawPointer>.stride) else {
                return false
            }
            entries = raw.assumingMemoryBound(to: UnsafeMutableRawPointer.self)
            capacity = grown
        }
        entries.unsafelyUnwrapped[count] = entry.pointer
        entry.volatileSlot = count
        count += 1
        return true
    }

    /// Removes `entry` (moving the last one into its slot).
    mutating func remove(_ entry: KVEntry) {
        let slot = entry.volatileSlot
        precondition(slot < count && entries.unsafelyUnwrapped[slot] == entry.pointer, "entry not at its volatile slot")
        count -= 1
        if slot != count {
            let moved = KVEntry(entries.unsafelyUnwrapped[count])
            entries.unsafelyUnwrapped[slot] = moved.pointer
            moved.volatileSlot = slot
        }
        // Give memory back once the array is mostly empty.
        if capacity > 64 && count * 4 < capacity {
            let shrunk = capacity / 2
            if let raw = KVHeap.reallocate(entries, shrunk * MemoryLayout<UnsafeMutableRawPointer>.stride) {
                entries = raw.assumingMemoryBound(to: UnsafeMutableRawPointer.self)
                capacity = shrunk
            }
        }
    }

    /// `entry` was reallocated as `replacement` (same expiry state, same slot).
    func moved(_ entry: KVEntry, to replacement: KVEntry) {
        let slot = replacement.volatileSlot
        precondition(slot < count && entries.unsafelyUnwrapped[slot] == entry.pointer, "entry not at its volatile slot")
        entries.unsafelyUnwrapped[slot] = replacement.pointer
    }

    /// Forgets every entry (their blocks are freed by the caller).
    mutating func removeAll() {
        KVHeap.release(entries)
        entries = nil
        capacity = 0
        count = 0
    }

    func checkInvariants() {
        for index in 0..<count {
            let entry = KVEntry(entries.unsafelyUnwrapped[index])
            precondition(entry.hasExpiry && entry.volatileSlot == index, "volatile entry \(index) misplaced")
        }
    }
}
