// KVIntSet: a set of integers as one sorted array, as Redis's intset: each
// member 2, 4 or 8 bytes, the width the widest member needs (a wider member
// widens them all; the set never narrows). Ten small integers take 28 bytes.
// Membership is a binary search; adding or removing moves the members after
// the place (memmove) and reallocates the block to its new size.
//
//   0  count   UInt32
//   4  width   UInt32   2, 4 or 8
//   8  members, ascending
//
// Invariant (checkInvariants): the members are strictly ascending and each
// fits the width.

import Glibc

/// A sorted set of integers in one block (see the file header).
struct KVIntSet {
    private(set) var pointer: UnsafeMutableRawPointer

    static let headerBytes = 8

    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }

    /// An empty set of 2-byte members; nil when malloc fails.
    static func make() -> KVIntSet? {
        guard let block = KVHeap.allocate(headerBytes) else { return nil }
        block.storeBytes(of: UInt32(0), as: UInt32.self)
        block.storeBytes(of: UInt32(2), toByteOffset: 4, as: UInt32.self)
        return KVIntSet(block)
    }

    var count: Int { Int(pointer.load(as: UInt32.self)) }
    var width: Int { Int(pointer.load(fromByteOffset: 4, as: UInt32.self)) }
    var bytesUsed: Int { Self.headerBytes &+ count &* width }

    /// The width `value` needs.
    static func width(for value: Int64) -> Int {
        if value >= Int64(Int16.min) && value <= Int64(Int16.max) { return 2 }
        if value >= Int64(Int32.min) && value <= Int64(Int32.max) { return 4 }
        return 8
    }

    /// Member number `index`.
    @inline(__always)
    subscript(index: Int) -> Int64 {
        member(at: index, width: width)
    }

    @inline(__always)
    private func member(at index: Int, width: Int) -> Int64 {
        let offset = Self.headerBytes &+ index &* width
        switch width {
        case 2: return Int64(pointer.loadUnaligned(fromByteOffset: offset, as: Int16.self))
        case 4: return Int64(pointer.loadUnaligned(fromByteOffset: offset, as: Int32.self))
        default: return pointer.loadUnaligned(fromByteOffset: offset, as: Int64.self)
        }
    }

    private func store(_ value: Int64, at index: Int, width: Int) {
        let offset = Self.headerBytes &+ index &* width
        switch width {
        case 2: pointer.storeBytes(of: Int16(truncatingIfNeeded: value), toByteOffset: offset, as: Int16.self)
        case 4: pointer.storeBytes(of: Int32(truncatingIfNeeded: value), toByteOffset: offset, as: Int32.self)
        default: pointer.storeBytes(of: value, toByteOffset: offset, as: Int64.self)
        }
    }

    /// The index of `value`, or where it would go (and false).
    func search(_ value: Int64) -> (index: Int, found: Bool) {
        var low = 0
        var high = count
        let width = self.width
        while low < high {
            let middle = (low &+ high) >> 1
            let member = self.member(at: middle, width: width)
            if member == value { return (middle, true) }
            if member < value { low = middle &+ 1 } else { high = middle }
        }
        return (low, false)
    }

    func contains(_ value: Int64) -> Bool { search(value).found }

    /// Adds `value`; returns whether it was added (false when present).
    /// Nil when the block cannot grow (the set is unchanged).
    mutating func insert(_ value: Int64) -> Bool? {
        let needed = Self.width(for: value)
        if needed > width { return widen(to: needed, adding: value) ? true : nil }
        let (index, found) = search(value)
        if found { return false }
        let count = self.count
        let width = self.width
        guard let grown = KVHeap.reallocate(pointer, Self.headerBytes &+ (count &+ 1) &* width) else { return nil }
        pointer = grown
        let offset = Self.headerBytes &+ index &* width
        memmove(pointer + (offset &+ width), pointer + offset, (count &- index) &* width)
        store(value, at: index, width: width)
        pointer.storeBytes(of: UInt32(count &+ 1), as: UInt32.self)
        return true
    }

    /// Widens every member to `newWidth` and adds `value`, which needs it
    /// (so it is the new smallest or largest member).
    private mutating func widen(to newWidth: Int, adding value: Int64) -> Bool {
        let count = self.count
        let oldWidth = width
        guard let grown = KVHeap.reallocate(pointer, Self.headerBytes &+ (count &+ 1) &* newWidth) else { return false }
        pointer = grown
        let prepend = value < 0
        // From the last member down, so nothing is overwritten before it is read.
        var index = count &- 1
        while index >= 0 {
            store(member(at: index, width: oldWidth), at: index &+ (prepend ? 1 : 0), width: newWidth)
            index &-= 1
        }
        store(value, at: prepend ? 0 : count, width: newWidth)
        pointer.storeBytes(of: UInt32(count &+ 1), as: UInt32.self)
        pointer.storeBytes(of: UInt32(newWidth), toByteOffset: 4, as: UInt32.self)
        return true
    }

    /// Removes `value`; returns whether it was there.
    mutating func remove(_ value: Int64) -> Bool {
        let (index, found) = search(value)
        guard found else { return false }
        removeMember(at: index)
        return true
    }

    /// Removes member number `index`.
    mutating func removeMember(at index: Int) {
        let count = self.count
        let width = self.width
        let offset = Self.headerBytes &+ index &* width
        memmove(pointer + offset, pointer + (offset &+ width), (count &- index &- 1) &* width)
        pointer.storeBytes(of: UInt32(count &- 1), as: UInt32.self)
        if let shrunk = KVHeap.reallocate(pointer, bytesUsed) { pointer = shrunk }
    }

    func release() {
        KVHeap.release(pointer)
    }

    func checkInvariants() {
        let width = self.width
        precondition(width == 2 || width == 4 || width == 8, "intset width \(width)")
        for index in 0..<count {
            let value = self[index]
            precondition(Self.width(for: value) <= width, "member \(value) does not fit width \(width)")
            if index > 0 { precondition(self[index - 1] < value, "intset members out of order at \(index)") }
        }
    }
}
