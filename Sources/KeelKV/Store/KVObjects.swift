// KVObjects: the objects a collection's entry points to, by type and
// encoding, and how each is given back. Compact encodings (packs, intsets)
// are plain blocks; general ones are classes (KVQuickList, KVFieldTable,
// KVSortedSet) held by an unmanaged retain in the entry.

import Glibc
import KeelPosix

/// Making, reaching and releasing the objects behind collection entries.
enum KVObjects {
    /// A class instance as an entry's object pointer (retained once).
    /// The instance's block is counted as the store's (KVHeap).
    static func pointer<T: AnyObject>(to object: T) -> UnsafeMutableRawPointer {
        let pointer = Unmanaged.passRetained(object).toOpaque()
        KVHeap.adopt(pointer)
        return pointer
    }

    /// The class instance an entry's object pointer holds (not retained).
    @inline(__always)
    static func object<T: AnyObject>(_ pointer: UnsafeMutableRawPointer, as type: T.Type) -> T {
        Unmanaged<T>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Gives back the object of `entry` (nothing for strings).
    static func release(_ entry: KVEntry) {
        release(entry.object, type: entry.type, encoding: entry.encoding)
    }

    /// Gives back `object` of `type` and `encoding`.
    static func release(_ object: UnsafeMutableRawPointer, type: KVType, encoding: KVEncoding) {
        switch (type, encoding) {
        case (.string, _): break
        case (.list, _):
            KVHeap.disown(object)
            Unmanaged<KVQuickList>.fromOpaque(object).release()
        case (.hash, .general), (.set, .general):
            KVHeap.disown(object)
            Unmanaged<KVFieldTable>.fromOpaque(object).release()
        case (.zset, .general):
            KVHeap.disown(object)
            Unmanaged<KVSortedSet>.fromOpaque(object).release()
        case (.set, .integer): KVIntSet(object).release()
        default: KVPack(object).release()
        }
    }

    /// How many blocks freeing `entry`'s object means, about: its elements
    /// (a pack or an intset is one block).
    static func elementCount(_ entry: KVEntry) -> Int {
        switch (entry.type, entry.encoding) {
        case (.string, _): return 1
        case (.list, _): return object(entry.object, as: KVQuickList.self).nodeCount
        case (.hash, .general), (.set, .general): return object(entry.object, as: KVFieldTable.self).count
        case (.zset, .general): return object(entry.object, as: KVSortedSet.self).count
        default: return 1
        }
    }

    /// Gives back an entry's block, and its object: on the background
    /// freer when it holds many blocks (UNLINK, FLUSHALL ASYNC).
    static func releaseEntryLazily(_ entry: KVEntry) {
        if entry.type != .string && elementCount(entry) > KVLazyFree.largeObjectElements {
            // MEMORY USAGE's estimate, less the entry's block and table
            // slot, which go now.
            let bytes =
                KVMemoryCommands.bytes(of: entry, samples: KVMemoryCommands.defaultSamples)
                &- HeapMemory.blockBytes(entry.pointer) &- 8
            KVLazyFree.shared.free(.object(entry.object, entry.type, entry.encoding, bytes: bytes))
            entry.freeBlock()
        } else {
            releaseEntry(entry)
        }
    }

    /// Gives back an entry's block and its object.
    static func releaseEntry(_ entry: KVEntry) {
        if entry.type != .string { release(entry) }
        entry.freeBlock()
    }

    /// The name OBJECT ENCODING answers with, as redis-server 7.0 names it.
    static func encodingName(_ entry: KVEntry) -> StaticString {
        switch (entry.type, entry.encoding) {
        case (.string, .integer): return "int"
        case (.string, _): return entry.stringBytes.count <= 44 ? "embstr" : "raw"
        case (.list, _): return "quicklist"
        case (.hash, .general), (.set, .general): return "hashtable"
        case (.set, .integer): return "intset"
        case (.zset, .general): return "skiplist"
        default: return "listpack"
        }
    }

    /// A copy of a collection's object (COPY); nil when memory ran out.
    static func duplicate(_ entry: KVEntry) -> UnsafeMutableRawPointer? {
        let source = entry.object
        switch (entry.type, entry.encoding) {
        case (.string, _):
            return nil
        case (.list, _):
            let list = object(source, as: KVQuickList.self)
            let copy = KVQuickList(fill: list.fill)
            var ok = true
            list.forEach(from: 0, through: list.count - 1) { element in
                ok = copy.push(element, front: false)
                return ok
            }
            return ok ? pointer(to: copy) : nil
        case (.hash, .general), (.set, .general):
            let table = object(source, as: KVFieldTable.self)
            let copy = KVFieldTable()
            var ok = true
            table.forEachEntry { field in
                if ok { ok = copy.set(field.field, field.value) != nil }
            }
            return ok ? pointer(to: copy) : nil
        case (.zset, .general):
            let set = object(source, as: KVSortedSet.self)
            let copy = KVSortedSet()
            var ok = true
            var node = set.first
            while let current = node, ok {
                ok = copy.insert(current.member, score: current.score)
                node = current.forward(0)
            }
            return ok ? pointer(to: copy) : nil
        case (.set, .integer):
            let bytes = KVIntSet(source).bytesUsed
            guard let block = KVHeap.allocate(bytes) else { return nil }
            block.copyMemory(from: source, byteCount: bytes)
            return block
        default:
            let bytes = KVPack(source).bytesUsed
            guard let block = KVHeap.allocate(bytes) else { return nil }
            block.copyMemory(from: source, byteCount: bytes)
            return block
        }
    }
}
