// KVPack: a small collection as one block of bytes, as Redis's listpack
// holds small hashes, lists, sets and sorted sets: an 8-byte header, then
// the elements, each its length (LEB128: one byte up to 127), its bytes,
// and the size of those two again, written backwards (one byte up to 127),
// so the pack can be walked from its end as well (RPOP, LINDEX -1).
// A hash's elements alternate field and value; a sorted set's, member and
// score (8 bytes, the double's bits). Ten fields and values of a few bytes
// take about 200 bytes, where general structures spend a block per element.
//
// Elements are found by walking from either end (a hash, set or sorted set
// pack holds at most 128 of them: KVLimits; a list's node at most 8 KiB),
// so every operation is O(bytes), and changes move the
// bytes after the change (memmove) and reallocate the block to its new
// size: a pack never holds spare capacity.
//
//   0  bytes used   UInt32   header included
//   4  count        UInt32   elements
//   8  elements
//
// Invariant (checkInvariants): walking the elements from offset 8 visits
// exactly `count` of them and ends exactly at `bytes used`.

import Glibc

/// A compact list of byte strings in one block (see the file header).
struct KVPack {
    private(set) var pointer: UnsafeMutableRawPointer

    static let headerBytes = 8

    /// The most bytes a pack holds (Redis's listpack safety size, 1 GiB):
    /// the limits a user sets decide when a collection leaves its pack,
    /// but one past this becomes a general structure whatever they say,
    /// and the header's 32-bit sizes never overflow.
    static let safetyBytes = 1 << 30

    /// Whether an element of `length` bytes fits in the pack within `safetyBytes`.
    @inline(__always)
    func hasRoom(for length: Int) -> Bool {
        bytesUsed &+ Self.encodedBytes(length) <= Self.safetyBytes
    }

    /// Whether two elements (a field and its value) fit within `safetyBytes`.
    @inline(__always)
    func hasRoom(for first: Int, _ second: Int) -> Bool {
        bytesUsed &+ Self.encodedBytes(first) &+ Self.encodedBytes(second) <= Self.safetyBytes
    }

    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }

    /// An empty pack; nil when malloc fails.
    static func make() -> KVPack? {
        guard let block = KVHeap.allocate(headerBytes) else { return nil }
        block.storeBytes(of: UInt32(headerBytes), as: UInt32.self)
        block.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        return KVPack(block)
    }

    /// Bytes in use, header included.
    var bytesUsed: Int { Int(pointer.load(as: UInt32.self)) }

    /// Elements.
    var count: Int { Int(pointer.load(fromByteOffset: 4, as: UInt32.self)) }

    private func setHeader(bytesUsed: Int, count: Int) {
        pointer.storeBytes(of: UInt32(bytesUsed), as: UInt32.self)
        pointer.storeBytes(of: UInt32(count), toByteOffset: 4, as: UInt32.self)
    }

    /// Where the first element starts.
    var startOffset: Int { Self.headerBytes }

    /// Where the elements end (one past the last).
    var endOffset: Int { bytesUsed }

    // MARK: reading

    /// The element at `offset` and the offset of the one after it.
    @inline(__always)
    func element(at offset: Int) -> (bytes: UnsafeRawBufferPointer, next: Int) {
        var length = 0
        var shift = 0
        var position = offset
        while true {
            let byte = pointer.load(fromByteOffset: position, as: UInt8.self)
            position &+= 1
            length |= Int(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift &+= 7
        }
        let headed = position &- offset &+ length
        return (
            UnsafeRawBufferPointer(start: pointer + position, count: length),
            position &+ length &+ Self.varintBytes(headed)
        )
    }

    /// The offset of the element that ends where `offset` begins (`offset`
    /// past the first element; the end offset gives the last element).
    @inline(__always)
    func offset(before offset: Int) -> Int {
        var position = offset &- 1
        var headed = 0
        var shift = 0
        while true {
            let byte = pointer.load(fromByteOffset: position, as: UInt8.self)
            headed |= Int(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift &+= 7
            position &-= 1
        }
        return position &- headed
    }

    /// The offset of the last element (the pack must not be empty).
    var lastOffset: Int {
        precondition(count > 0, "an empty pack has no last element")
        return offset(before: endOffset)
    }

    /// Calls `body` with each element and its offset, in order, until it returns false.
    func forEachElement(_ body: (UnsafeRawBufferPointer, Int) -> Bool) {
        var offset = startOffset
        let end = endOffset
        while offset < end {
            let (bytes, next) = element(at: offset)
            if !body(bytes, offset) { return }
            offset = next
        }
    }

    /// The offset of element number `index` (0-based), or the end offset
    /// when `index == count`.
    func offset(ofIndex index: Int) -> Int {
        let count = self.count
        // From the nearer end.
        if index > count / 2 {
            var offset = endOffset
            for _ in index..<count { offset = self.offset(before: offset) }
            return offset
        }
        var offset = startOffset
        for _ in 0..<index { offset = element(at: offset).next }
        return offset
    }

    /// The offset of the first element equal to `bytes` at an index that
    /// is a multiple of `stride` (2 finds a hash's fields), or nil.
    func find(_ bytes: UnsafeRawBufferPointer, stride: Int = 1) -> Int? {
        var offset = startOffset
        let end = endOffset
        var index = 0
        while offset < end {
            let (element, next) = self.element(at: offset)
            if index % stride == 0 && element.count == bytes.count
                && (bytes.isEmpty || memcmp(element.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
            {
                return offset
            }
            offset = next
            index &+= 1
        }
        return nil
    }

    /// Every element, copied (for tests and conversions).
    var elements: [[UInt8]] {
        var result: [[UInt8]] = []
        forEachElement { bytes, _ in
            result.append(Array(bytes))
            return true
        }
        return result
    }

    // MARK: changing

    /// Bytes an element of `length` bytes takes: its length, its bytes,
    /// and their size written backwards.
    static func encodedBytes(_ length: Int) -> Int {
        let headed = varintBytes(length) &+ length
        return headed &+ varintBytes(headed)
    }

    /// Bytes a LEB128 number takes.
    @inline(__always)
    static func varintBytes(_ value: Int) -> Int {
        var size = 1
        var rest = value >> 7
        while rest > 0 {
            size &+= 1
            rest >>= 7
        }
        return size
    }

    /// Writes `elements` at `offset` (room already made); returns the end.
    private func write(_ elements: [UnsafeRawBufferPointer], at offset: Int) -> Int {
        var position = offset
        for bytes in elements {
            var length = bytes.count
            while length >= 0x80 {
                pointer.storeBytes(of: UInt8(length & 0x7F) | 0x80, toByteOffset: position, as: UInt8.self)
                position &+= 1
                length >>= 7
            }
            pointer.storeBytes(of: UInt8(length), toByteOffset: position, as: UInt8.self)
            position &+= 1
            if !bytes.isEmpty { (pointer + position).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            position &+= bytes.count
            // The size so far, backwards: the last byte holds the lowest
            // seven bits, a set high bit says more bytes precede it.
            var headed = Self.varintBytes(bytes.count) &+ bytes.count
            let backBytes = Self.varintBytes(headed)
            var back = position &+ backBytes &- 1
            while true {
                let more: UInt8 = headed >= 0x80 ? 0x80 : 0
                pointer.storeBytes(of: UInt8(headed & 0x7F) | more, toByteOffset: back, as: UInt8.self)
                headed >>= 7
                if more == 0 { break }
                back &-= 1
            }
            position &+= backBytes
        }
        return position
    }

    /// Inserts `elements` before the element at `offset` (the end offset
    /// appends). False when the block cannot grow (the pack is unchanged).
    mutating func insert(_ elements: [UnsafeRawBufferPointer], at offset: Int) -> Bool {
        let added = elements.reduce(0) { $0 &+ Self.encodedBytes($1.count) }
        let used = bytesUsed
        let count = self.count
        // Past the 32-bit header's reach: refused as a failed allocation is
        // (callers keep packs far below it: safetyBytes).
        guard used &+ added <= Int(UInt32.max) else { return false }
        guard let grown = KVHeap.reallocate(pointer, used &+ added) else { return false }
        pointer = grown
        if offset < used { memmove(pointer + (offset &+ added), pointer + offset, used &- offset) }
        _ = write(elements, at: offset)
        setHeader(bytesUsed: used &+ added, count: count &+ elements.count)
        return true
    }

    /// Appends `elements`. False when the block cannot grow.
    mutating func append(_ elements: UnsafeRawBufferPointer...) -> Bool {
        insert(elements, at: endOffset)
    }

    /// Removes `elementCount` elements starting at `offset`.
    mutating func remove(at offset: Int, elementCount: Int) {
        var end = offset
        for _ in 0..<elementCount { end = element(at: end).next }
        let used = bytesUsed
        memmove(pointer + offset, pointer + end, used &- end)
        setHeader(bytesUsed: used &- (end &- offset), count: count &- elementCount)
        // Shrinking in place cannot fail; a nil result leaves the block as it was.
        if let shrunk = KVHeap.reallocate(pointer, bytesUsed) { pointer = shrunk }
    }

    /// Replaces the element at `offset` with `bytes`. False when the block
    /// cannot grow.
    mutating func replace(at offset: Int, with bytes: UnsafeRawBufferPointer) -> Bool {
        let (old, next) = element(at: offset)
        let oldSize = next &- offset
        let newSize = Self.encodedBytes(bytes.count)
        if newSize == oldSize {
            _ = write([bytes], at: offset)
            return true
        }
        // Copy first: `bytes` may point into this pack, which realloc may move.
        _ = old
        let copy = Array(bytes)
        let used = bytesUsed
        let count = self.count
        if newSize > oldSize {
            guard used &+ newSize &- oldSize <= Int(UInt32.max),
                let grown = KVHeap.reallocate(pointer, used &+ newSize &- oldSize)
            else { return false }
            pointer = grown
        }
        memmove(pointer + (offset &+ newSize), pointer + next, used &- next)
        _ = copy.withUnsafeBytes { write([$0], at: offset) }
        setHeader(bytesUsed: used &+ newSize &- oldSize, count: count)
        if newSize < oldSize, let shrunk = KVHeap.reallocate(pointer, bytesUsed) { pointer = shrunk }
        return true
    }

    /// Frees the block.
    func release() {
        KVHeap.release(pointer)
    }

    /// Checks the invariant (see the file header).
    func checkInvariants() {
        var offset = startOffset
        var walked = 0
        while offset < endOffset {
            let next = element(at: offset).next
            precondition(next > endOffset || self.offset(before: next) == offset, "a back length does not lead back")
            offset = next
            walked += 1
        }
        precondition(offset == endOffset, "the last element runs past the pack's end")
        precondition(walked == count, "count \(count) but \(walked) elements")
    }
}
