// KVLimits: where small collections stop being packs, as redis-server's
// settings of the same names say (CONFIG GET/SET reach them): a hash, set
// or sorted set stays a compact pack while it has at most `...Entries`
// members and none longer than `...Value` bytes; a set of integers stays an
// intset up to `setMaxIntsetEntries`. Past a limit the collection becomes a
// general structure, as in Redis, and does not go back.

import Synchronization

/// The compact-encoding limits (redis-server's defaults).
public final class KVLimits: Sendable {
    let hashMaxListpackEntries = Atomic<Int>(512)
    let hashMaxListpackValue = Atomic<Int>(64)
    let setMaxIntsetEntries = Atomic<Int>(512)
    /// 0: sets of strings are tables, as in redis-server 7.0 (7.2 packs up
    /// to 128; CONFIG SET set-max-listpack-entries 128 does here too).
    let setMaxListpackEntries = Atomic<Int>(0)
    let setMaxListpackValue = Atomic<Int>(64)
    let zsetMaxListpackEntries = Atomic<Int>(128)
    let zsetMaxListpackValue = Atomic<Int>(64)
    /// list-max-listpack-size: a new list's node size (KVQuickList.fill).
    let listMaxListpackSize = Atomic<Int>(Int(KVQuickList.defaultFill))
    /// list-compress-depth: kept and read back; keel-kv compresses no list
    /// nodes (README, "Where it differs").
    let listCompressDepth = Atomic<Int>(0)
    /// The most bytes a sparse HyperLogLog may take before it turns dense.
    let hllSparseMaxBytes = Atomic<Int>(3_000)

    /// Redis's defaults.
    public init() {}

    var hashEntries: Int { hashMaxListpackEntries.load(ordering: .relaxed) }
    var hashValue: Int { hashMaxListpackValue.load(ordering: .relaxed) }
    var intsetEntries: Int { setMaxIntsetEntries.load(ordering: .relaxed) }
    var setEntries: Int { setMaxListpackEntries.load(ordering: .relaxed) }
    var setValue: Int { setMaxListpackValue.load(ordering: .relaxed) }
    var zsetEntries: Int { zsetMaxListpackEntries.load(ordering: .relaxed) }
    var zsetValue: Int { zsetMaxListpackValue.load(ordering: .relaxed) }
    var listFill: Int32 { Int32(clamping: listMaxListpackSize.load(ordering: .relaxed)) }
}
