// MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS and PURGE. USAGE counts what
// malloc gave a key (its entry block, its table slot, and its value's
// blocks), sampling large collections as redis-server does: the first
// `SAMPLES` elements (5 unless told, 0 for all) measured and the rest taken
// to be alike. keel-kv allocates with the C library's malloc, so its
// numbers are malloc_usable_size's, not jemalloc's size classes.

import Glibc
import KeelPosix
import KeelWire

enum KVMemoryCommands {
    /// redis-server's default sample count for MEMORY USAGE.
    static let defaultSamples = 5

    /// MEMORY USAGE key [SAMPLES count]: bytes, or null for a missing key.
    static func usage(_ context: KVContext) {
        var samples = defaultSamples
        var index = 3
        while index < context.argumentCount {
            guard context.argument(index, is: "SAMPLES"), index + 1 < context.argumentCount else {
                return context.syntaxError()
            }
            guard let count = context.integer(at: index + 1) else { return }
            guard count >= 0 else { return context.syntaxError() }
            samples = Int(clamping: count)
            index += 2
        }
        guard let found = context.find(context[2]) else { return context.reply.null() }
        context.reply.integer(bytes(of: found.entry, samples: samples))
    }

    /// About the bytes `entry` holds: its block, its slot in the key table,
    /// and its value's blocks.
    static func bytes(of entry: KVEntry, samples: Int) -> Int {
        let own = HeapMemory.blockBytes(entry.pointer) &+ 8
        guard entry.type != .string else { return own }
        let object = entry.object
        switch (entry.type, entry.encoding) {
        case (.list, _):
            return own &+ KVObjects.object(object, as: KVQuickList.self).approximateBytes(samples: samples)
        case (.hash, .general), (.set, .general):
            return own &+ KVObjects.object(object, as: KVFieldTable.self).approximateBytes(samples: samples)
        case (.zset, .general):
            return own &+ KVObjects.object(object, as: KVSortedSet.self).approximateBytes(samples: samples)
        default:
            // A pack or an intset: one block.
            return own &+ HeapMemory.blockBytes(object)
        }
    }

    /// MEMORY STATS: what keel-kv can tell of where its memory is, under
    /// redis-server's names (a map in RESP3).
    static func stats(_ context: KVContext) {
        let allocated = KVHeap.used
        let peak = KVHeap.notePeak()
        let resident = KVInfo.residentBytes()
        let keys = context.store.count
        context.reply.mapHeader(6)
        for (name, value) in [
            ("peak.allocated", peak), ("total.allocated", allocated), ("keys.count", keys),
            ("keys.bytes-per-key", keys > 0 ? allocated / keys : 0), ("allocator.resident", resident),
        ] as [(StaticString, Int)] {
            context.reply.bulkString(name)
            context.reply.integer(value)
        }
        context.reply.bulkString("fragmentation")
        let ratio = allocated > 0 ? Double(resident) / Double(allocated) : 0
        KVDouble.text(ratio).withUnsafeBytes { context.reply.double(text: $0) }
    }

    /// MEMORY DOCTOR: keel-kv keeps no diagnosis of its own.
    static func doctor(_ context: KVContext) {
        let text = Array(
            "keel-kv has no memory doctor: INFO memory and MEMORY STATS say what it holds, MEMORY USAGE what a key holds."
                .utf8)
        text.withUnsafeBytes { context.reply.verbatim($0) }
    }

    /// MEMORY MALLOC-STATS: the C library's malloc keeps none to report (as
    /// redis-server answers when built with it).
    static func mallocStats(_ context: KVContext) {
        context.reply.bulkString("Stats not supported for the current allocator")
    }

    /// MEMORY PURGE: free pages go back to the system.
    static func purge(_ context: KVContext) {
        HeapMemory.returnFreePages()
        context.reply.simpleString("OK")
    }
}
