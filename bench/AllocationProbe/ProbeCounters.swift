// State the malloc hook reads. The hook runs inside malloc, so it must not
// allocate, take a lock, or touch Swift concurrency: a plain nonisolated
// function over plain globals (initialised before counting starts).

import Glibc

/// The loop thread, once the handler has seen it.
nonisolated(unsafe) var probeLoopThread: pthread_t = 0
nonisolated(unsafe) var probeLoopThreadKnown = false
/// Counting is on only for the measured stretch.
nonisolated(unsafe) var probeCounting = false
/// Allocations the loop thread made while counting.
nonisolated(unsafe) var probeLoopAllocations = 0

/// The allocation hook: counts allocations on the loop thread only.
func probeAllocationHook(_ size: Int) {
    if probeCounting && probeLoopThreadKnown && pthread_equal(pthread_self(), probeLoopThread) != 0 {
        probeLoopAllocations += 1
    }
}

/// Touches every global once, so the hook never triggers their lazy initialisation.
func probeInitializeGlobals() {
    probeLoopThread = 0
    probeLoopThreadKnown = false
    probeCounting = false
    probeLoopAllocations = 0
}
