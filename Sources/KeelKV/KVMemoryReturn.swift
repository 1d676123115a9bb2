// KVMemoryReturn: gives the memory of removed keys back to the system.
//
// Why: free() keeps freed memory in malloc's arenas for reuse, so after
// FLUSHALL or a mass DEL of millions of keys the process would stay at its
// peak resident size until something happened to call malloc_trim (Keel's
// loop does so only after its own connection buffers go quiet). This follows
// the store's frees instead: once enough keys were removed since the last
// return, the next tick that finds the removals stopped for a moment asks
// malloc to hand free pages back (malloc_trim, on a background thread:
// after a million evictions its walk took 95 ms), at most once a second, and
// only if the store has shrunk to half its peak or less since the last
// return: a cache whose keys come and go at a steady count (a TTL cache
// removes thousands a second) reuses what it frees, and a trim there would
// walk the heap for milliseconds, holding every request, for nothing.

import Keel

/// Decides, tick by tick, when the removed keys' memory goes back.
struct KVMemoryReturn {
    /// Removals since the last return that make one worthwhile.
    static let removalsWorthReturning = 10_000
    /// The least time between two returns.
    static let intervalMs: Int64 = 1_000

    private var removalsAtReturn = 0
    private var removalsAtLastTick = 0
    private var lastReturnMs: Int64?
    /// The most keys seen since the last return (sampled once a second).
    private var peakKeys = 0
    private var lastSampleMs: Int64?

    /// Called every tick with the store's removal count and a way to count
    /// its keys: true when memory should be returned now (many removals,
    /// none since the last tick, the store at half its peak or less).
    mutating func isDue(removals: Int, nowMs: Int64, keys: () -> Int) -> Bool {
        defer { removalsAtLastTick = removals }
        if nowMs - (lastSampleMs ?? nowMs - Self.intervalMs) >= Self.intervalMs {
            peakKeys = max(peakKeys, keys())
            lastSampleMs = nowMs
        }
        guard removals - removalsAtReturn >= Self.removalsWorthReturning,
            removals == removalsAtLastTick, nowMs - (lastReturnMs ?? nowMs - Self.intervalMs) >= Self.intervalMs
        else { return false }
        let now = keys()
        peakKeys = max(peakKeys, now)
        guard now <= peakKeys / 2 else { return false }
        removalsAtReturn = removals
        lastReturnMs = nowMs
        peakKeys = now
        return true
    }

}
