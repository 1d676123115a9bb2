// KVMemoryReturn: gives the memory of removed values back to the system.
//
// Why: free() keeps freed memory in malloc's arenas for reuse, so after
// FLUSHALL, a mass DEL of millions of keys or the DEL of one sorted set of
// millions of members, the process would stay at its peak resident size
// until something happened to call malloc_trim (Keel's loop does so only
// after its own connection buffers go quiet). This follows the store's own
// count of its bytes (KVHeap) instead: once it has fallen to half its peak
// or less, by at least 16 MiB, and stopped falling for a tick, malloc is
// asked to hand free pages back (malloc_trim, on a background thread: after
// a million evictions its walk took 95 ms), at most once a second. A cache
// whose size holds steady while keys come and go (a TTL cache frees
// thousands a second) reuses what it frees and never trims: a trim there
// would walk the heap for nothing. (Counting removed keys instead missed a
// few big values: two DELs of sorted sets left 280 MB resident.)

import Keel

/// Decides, tick by tick, when freed memory goes back.
struct KVMemoryReturn {
    /// The least fall from the peak that makes a return worthwhile.
    static let bytesWorthReturning = 16 << 20
    /// The least time between two returns.
    static let intervalMs: Int64 = 1_000

    /// The most bytes the store held since the last return.
    private var peakBytes = 0
    private var bytesAtLastTick = 0
    private var lastReturnMs: Int64?

    /// Called every tick with the store's bytes (KVHeap.used): true when
    /// memory should be returned now (the store at half its peak or less,
    /// 16 MiB or more below it, and no longer shrinking).
    mutating func isDue(usedBytes: Int, nowMs: Int64) -> Bool {
        defer { bytesAtLastTick = usedBytes }
        peakBytes = max(peakBytes, usedBytes)
        guard peakBytes - usedBytes >= Self.bytesWorthReturning, usedBytes <= peakBytes / 2,
            usedBytes >= bytesAtLastTick, nowMs - (lastReturnMs ?? nowMs - Self.intervalMs) >= Self.intervalMs
        else { return false }
        lastReturnMs = nowMs
        peakBytes = usedBytes
        return true
    }
}
