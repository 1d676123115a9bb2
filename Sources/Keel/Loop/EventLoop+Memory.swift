// Giving memory back after a burst.
//
// Why: the pool keeps freed ring blocks for reuse (up to its budget), and
// malloc keeps freed pages in its arenas, so after a burst of large or
// backed-up messages a server would stay at its peak resident size forever.
// Once the buffers have been quiet for Configuration.releaseMemoryAfterQuietMs
// (no block taken, none in use), the loop empties its pool and has malloc
// return free pages to the kernel (on a background thread: HeapMemory). Under steady load the check is two
// compares per iteration and the release never runs; when idle, the wait
// wakes once for it and then not again until the buffers are used.

/// When the loop's buffers next go back to the system.
@usableFromInline
struct MemoryReleaseSchedule {
    /// How long the buffers must stay quiet; nil: never release.
    @usableFromInline let quietMs: Int64?
    /// When the release is due, if one is scheduled.
    @usableFromInline var dueMs: Int64?
    /// The pool's take count when the release was scheduled.
    @usableFromInline var takesAtSchedule = 0
    /// The pool's malloc count at the last release.
    @usableFromInline var allocationsAtRelease = 0
    /// Memory work outside the pool (TLS handshakes: OpenSSL mallocs and
    /// frees its own buffers), counted so that a burst of it is followed by
    /// a release too; and its count when the release was scheduled, and at
    /// the last release.
    @usableFromInline var foreignWork = 0
    @usableFromInline var foreignWorkAtSchedule = 0
    @usableFromInline var foreignWorkAtRelease = 0

    @inlinable
    init(quietMs: Int?) {
        self.quietMs = quietMs.map { Int64($0) }
    }

    /// Schedules or postpones the release as the pool's use requires;
    /// true when it is due now (the buffers stayed quiet a whole period).
    @inlinable @inline(__always)
    mutating func isDue(nowMs: Int64, pool: BufferPool) -> Bool {
        guard let due = dueMs else {
            if pool.retainedBytes > 0 || pool.systemAllocations != allocationsAtRelease
                || foreignWork != foreignWorkAtRelease
            {
                schedule(nowMs: nowMs, pool: pool)
            }
            return false
        }
        guard nowMs >= due else { return false }
        if pool.takes != takesAtSchedule || pool.outstandingBytes != 0 || foreignWork != foreignWorkAtSchedule {
            schedule(nowMs: nowMs, pool: pool)  // Still busy: look again one quiet period later.
            return false
        }
        return true
    }

    @usableFromInline
    mutating func schedule(nowMs: Int64, pool: BufferPool) {
        guard let quietMs else { return }
        dueMs = nowMs + quietMs
        takesAtSchedule = pool.takes
        foreignWorkAtSchedule = foreignWork
    }

    /// The release has happened: nothing is due until the pool mallocs again.
    @inlinable
    mutating func released(pool: BufferPool) {
        dueMs = nil
        allocationsAtRelease = pool.systemAllocations
        foreignWorkAtRelease = foreignWork
    }
}

extension EventLoop {
    /// Schedules, postpones or carries out the release; once per iteration.
    @inlinable @inline(__always)
    func considerReleasingMemory() {
        if memoryRelease.isDue(nowMs: nowMs, pool: pool) { releaseMemory() }
    }

    @usableFromInline
    func releaseMemory() {
        pool.trim()
        // The walk over malloc's free chunks takes milliseconds when much
        // was freed (a store's keys): off the loop.
        HeapMemory.returnFreePagesInBackground()
        stats.memoryReleases += 1
        memoryRelease.released(pool: pool)
    }
}
