// ByteTable: a hash table keyed by byte strings that is searched with the
// borrowed bytes of a request, so looking a key up allocates nothing; only
// inserting a new key copies it (as redis-server copies it into an sds).
//
// Open addressing with linear probing over a power-of-two array; each slot
// keeps its key's hash, so probing compares bytes only on a hash match and
// growing never rehashes. Deletion shifts the following run back (no
// tombstones), so lookups stay short however many keys come and go. The load
// factor stays at most 3/4.
//
// Invariants: count is the number of occupied slots; every occupied slot is
// reachable from its home index (hash & mask) without crossing an empty one.

/// A table of values by byte-string key.
public struct ByteTable<Value> {
    @usableFromInline
    struct Slot {
        @usableFromInline let hash: UInt64
        @usableFromInline var key: [UInt8]
        @usableFromInline var value: Value

        @inlinable
        init(hash: UInt64, key: [UInt8], value: Value) {
            self.hash = hash
            self.key = key
            self.value = value
        }
    }

    @usableFromInline var slots: [Slot?]
    /// Keys in the table.
    public private(set) var count = 0

    /// An empty table.
    public init() {
        slots = Array(repeating: nil, count: 8)
    }

    /// Slots in all (occupied or not): the range of positions.
    @inlinable
    public var capacity: Int { slots.count }

    /// The position of `key` (with hash `hash`), or nil.
    @inlinable
    public func position(of key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        let mask = slots.count &- 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while let slot = slots[index] {
            if slot.hash == hash && slot.key.withUnsafeBytes({ bytesEqual($0, key) }) { return index }
            index = (index &+ 1) & mask
        }
        return nil
    }

    /// The value at an occupied `position`.
    @inlinable
    public subscript(position position: Int) -> Value {
        get { slots[position].unsafelyUnwrapped.value }
        set { slots[position]!.value = newValue }
    }

    /// The key at an occupied `position`.
    @inlinable
    public func key(at position: Int) -> [UInt8] {
        slots[position].unsafelyUnwrapped.key
    }

    /// Whether `position` holds a key.
    @inlinable
    public func isOccupied(_ position: Int) -> Bool {
        slots[position] != nil
    }

    /// Changes the value at an occupied `position` in place.
    @inlinable
    public mutating func modify<R>(at position: Int, _ body: (inout Value) -> R) -> R {
        body(&slots[position]!.value)
    }

    /// Inserts `key` (absent from the table) with `value`; returns its position.
    @discardableResult
    public mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, value: Value) -> Int {
        if (count &+ 1) &* 4 > slots.count &* 3 { grow() }
        let mask = slots.count &- 1
        var index = Int(truncatingIfNeeded: hash) & mask
        while slots[index] != nil { index = (index &+ 1) & mask }
        slots[index] = Slot(hash: hash, key: Array(key), value: value)
        count &+= 1
        return index
    }

    /// Removes the key at an occupied `position` and returns its value. The
    /// run after it shifts back, so positions beyond it may change.
    @discardableResult
    public mutating func remove(at position: Int) -> Value {
        let mask = slots.count &- 1
        let removed = slots[position].unsafelyUnwrapped.value
        slots[position] = nil
        count &-= 1
        var hole = position
        var index = (position &+ 1) & mask
        while let slot = slots[index] {
            let home = Int(truncatingIfNeeded: slot.hash) & mask
            // Move the slot into the hole unless its home lies cyclically in (hole, index].
            let homeBetween = hole <= index ? (home > hole && home <= index) : (home > hole || home <= index)
            if !homeBetween {
                slots.swapAt(hole, index)
                hole = index
            }
            index = (index &+ 1) & mask
        }
        return removed
    }

    /// Removes every key, keeping a small table.
    public mutating func removeAll() {
        slots = Array(repeating: nil, count: 8)
        count = 0
    }

    /// An occupied position at or after `start` (wrapping), or nil when empty.
    public func occupiedPosition(from start: Int) -> Int? {
        guard count > 0 else { return nil }
        var index = start & (slots.count - 1)
        while slots[index] == nil { index = (index + 1) & (slots.count - 1) }
        return index
    }

    /// Calls `body` with every occupied position, in table order.
    public func forEachPosition(_ body: (Int) -> Void) {
        for index in slots.indices where slots[index] != nil { body(index) }
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: nil, count: old.count * 2)
        let mask = slots.count - 1
        for case let slot? in old {
            var index = Int(truncatingIfNeeded: slot.hash) & mask
            while slots[index] != nil { index = (index + 1) & mask }
            slots[index] = slot
        }
    }

    /// Checks the invariants (see the file header); O(capacity).
    public func checkInvariants() {
        var occupied = 0
        let mask = slots.count - 1
        for index in slots.indices {
            guard let slot = slots[index] else { continue }
            occupied += 1
            var probe = Int(truncatingIfNeeded: slot.hash) & mask
            while probe != index {
                precondition(slots[probe] != nil, "slot \(index) is cut off from its home by an empty slot")
                probe = (probe + 1) & mask
            }
        }
        precondition(occupied == count, "count \(count) but \(occupied) occupied")
    }
}

extension ByteTable {
    /// The value for `key`, or nil.
    @inlinable
    public func value(for key: UnsafeRawBufferPointer) -> Value? {
        position(of: key, hash: ByteHash.hash(key)).map { self[position: $0] }
    }
}
