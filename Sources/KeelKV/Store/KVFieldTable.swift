// KVFieldTable: a hash's fields or a set's members once they outgrow a pack
// (Redis's "hashtable" encoding): a KVDict of entries, one block each,
//
//   0  next          8 bytes (KVDict's chain)
//   8  field length  UInt32
//  12  value length  UInt32 (0 for a set's members)
//  16  field, then value
//
// found by the borrowed bytes of a request. The table grows and shrinks a
// bucket at a time, as the keyspace does, so a hash of a million fields
// never stops the loop either.

import Glibc
import KeelPosix

/// Where a field entry keeps its field.
enum KVFieldLayout: KVEntryLayout {
    @inline(__always)
    static func key(of entry: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        KVFieldEntry(entry).field
    }
}

/// One field (and value) of a KVFieldTable.
struct KVFieldEntry {
    let pointer: UnsafeMutableRawPointer

    @inline(__always) init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }

    static let headerBytes = 16

    var fieldLength: Int { Int(pointer.load(fromByteOffset: 8, as: UInt32.self)) }
    var valueLength: Int { Int(pointer.load(fromByteOffset: 12, as: UInt32.self)) }

    var field: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: pointer + Self.headerBytes, count: fieldLength)
    }

    var value: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: pointer + (Self.headerBytes &+ fieldLength), count: valueLength)
    }

    /// A new entry; nil when malloc fails.
    static func make(field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> KVFieldEntry? {
        guard let block = KVHeap.allocate(headerBytes &+ field.count &+ value.count) else { return nil }
        block.storeBytes(of: nil as UnsafeMutableRawPointer?, as: UnsafeMutableRawPointer?.self)
        block.storeBytes(of: UInt32(field.count), toByteOffset: 8, as: UInt32.self)
        block.storeBytes(of: UInt32(value.count), toByteOffset: 12, as: UInt32.self)
        if !field.isEmpty { (block + headerBytes).copyMemory(from: field.baseAddress!, byteCount: field.count) }
        if !value.isEmpty {
            (block + (headerBytes &+ field.count)).copyMemory(from: value.baseAddress!, byteCount: value.count)
        }
        return KVFieldEntry(block)
    }
}

/// Fields (with values) or members in a resizable hash table.
final class KVFieldTable {
    private(set) var dict = KVDict<KVFieldLayout>()

    init() {}

    deinit {
        dict.removeAll { KVHeap.release($0) }
    }

    var count: Int { dict.count }

    /// The entry of `field`, or nil.
    func find(_ field: UnsafeRawBufferPointer) -> KVFieldEntry? {
        dict.find(field, hash: ByteHash.hash(field)).map { KVFieldEntry($0.entry) }
    }

    /// Whether `field` is present. A pure lookup: no rehash step, so a
    /// set may test members of itself while it is being walked (SINTER s
    /// s, SDIFF s s: a step would free the bucket array under the walk).
    func contains(_ field: UnsafeRawBufferPointer) -> Bool {
        dict.lookup(field, hash: ByteHash.hash(field)) != nil
    }

    /// Sets `field` to `value`; returns whether the field is new. Nil when
    /// malloc fails (the table is unchanged).
    func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool? {
        let hash = ByteHash.hash(field)
        guard let made = KVFieldEntry.make(field: field, value: value) else { return nil }
        if let (entry, link) = dict.find(field, hash: hash) {
            dict.replace(at: link, entry: entry, with: made.pointer)
            KVHeap.release(entry)
            return false
        }
        dict.insert(made.pointer, hash: hash)
        return true
    }

    /// Adds a member (no value); returns whether it is new. Nil when malloc fails.
    func add(_ member: UnsafeRawBufferPointer) -> Bool? {
        let hash = ByteHash.hash(member)
        if dict.find(member, hash: hash) != nil { return false }
        guard let made = KVFieldEntry.make(field: member, value: UnsafeRawBufferPointer(start: nil, count: 0)) else {
            return nil
        }
        dict.insert(made.pointer, hash: hash)
        return true
    }

    /// Removes `field`; returns whether it was there.
    func remove(_ field: UnsafeRawBufferPointer) -> Bool {
        let hash = ByteHash.hash(field)
        guard let (entry, link) = dict.find(field, hash: hash) else { return false }
        dict.remove(at: link, entry: entry, hash: hash)
        KVHeap.release(entry)
        dict.shrinkIfSparse()
        return true
    }

    func forEachEntry(_ body: (KVFieldEntry) -> Void) {
        dict.forEachEntry { body(KVFieldEntry($0)) }
    }

    /// About the bytes the table holds (MEMORY USAGE): itself, its bucket
    /// arrays, and its entries, the first `samples` measured (0: all) and
    /// the rest taken to be alike, as redis-server samples.
    func approximateBytes(samples: Int) -> Int {
        var measured = 0
        var seen = 0
        var cursor: UInt64 = 0
        repeat {
            cursor = scan(cursor) { entry in
                measured &+= HeapMemory.blockBytes(entry.pointer)
                seen &+= 1
            }
        } while cursor != 0 && (samples == 0 || seen < samples)
        let entries = seen == 0 ? 0 : Int(Double(measured) / Double(seen) * Double(count))
        return HeapMemory.blockBytes(Unmanaged.passUnretained(self).toOpaque()) &+ dict.bucketCount &* 8 &+ entries
    }

    func random<G: RandomNumberGenerator>(using generator: inout G) -> KVFieldEntry? {
        dict.randomEntry(using: &generator).map { KVFieldEntry($0) }
    }

    func scan(_ cursor: UInt64, _ body: (KVFieldEntry) -> Void) -> UInt64 {
        dict.scan(cursor) { body(KVFieldEntry($0)) }
    }

    /// Moves up to `buckets` buckets of a resize under way; whether one still is.
    func rehash(buckets: Int) -> Bool {
        dict.rehash(buckets: buckets)
    }

    func checkInvariants() {
        dict.checkInvariants()
    }
}
