// Giving memory back after a burst.
//
// Why: the pool keeps freed ring blocks for reuse (up to its budget), and
// malloc keeps freed pages in its arenas, so after a burst of large or
// backed-up messages a server would stay at its peak resident size forever.
// Once the buffers have been quiet for Configuration.releaseMemoryAfterQuietMs
// (no block taken, none in use), the loop empties its pool and has malloc
// return free pages to the kernel. Under steady load the check is two
// compares per iteration and the release never runs; when idle, the wait
// wakes once for it and then not again until the buffers are used.

extension EventLoop {
    /// Schedules, postpones or carries out the release; once per iteration.
    @inlinable @inline(__always)
    func considerReleasingMemory() {
        guard let due = memoryReleaseDueMs else {
            if pool.retainedBytes > 0 || pool.systemAllocations != poolAllocationsAtRelease {
                scheduleMemoryRelease()
            }
            return
        }
        guard nowMs >= due else { return }
        if pool.takes != poolTakesAtSchedule || pool.outstandingBytes != 0 {
            scheduleMemoryRelease()  // Still busy: look again one quiet period later.
            return
        }
        releaseMemory()
    }

    @usableFromInline
    func scheduleMemoryRelease() {
        guard let quietMs = configuration.releaseMemoryAfterQuietMs else { return }
        memoryReleaseDueMs = nowMs + Int64(quietMs)
        poolTakesAtSchedule = pool.takes
    }

    @usableFromInline
    func releaseMemory() {
        pool.trim()
        Syscall.releaseFreeHeap()
        stats.memoryReleases += 1
        memoryReleaseDueMs = nil
        poolAllocationsAtRelease = pool.systemAllocations
    }
}
