// HeapMemory: what a service on Keel may ask of malloc. Keel's loops give
// their own buffers back when they go quiet; a service that frees much of
// its own memory (a store after a mass delete) calls this to do the same.

import CShims
import Glibc
import Synchronization

/// The process's malloc heap.
public enum HeapMemory {
    /// Asks malloc to hand its free pages back to the kernel (glibc's
    /// malloc_trim), so resident memory falls after a large free. Costs a
    /// walk over malloc's free lists: call it after a burst of frees, not
    /// per free.
    public static func returnFreePages() {
        Syscall.releaseFreeHeap()
    }

    /// returnFreePages on a background thread of its own, so no loop waits
    /// for the walk (95 ms after a million small keys were freed); a
    /// request made while one is under way is served by one more walk after
    /// it. malloc locks each arena while it trims it: a thread allocating
    /// from that arena meanwhile waits, but one that does not goes on.
    public static func returnFreePagesInBackground() {
        HeapTrimmer.shared.request()
    }

    /// Turns malloc's fast bins off for the process (glibc's M_MXFAST 0).
    /// With them, small blocks freed by the million (a store deleting or
    /// evicting keys) wait in the bins unmerged until a large allocation
    /// or a trim merges them all at once: 90-130 ms on the thread that
    /// happens to ask. Without them each free merges its block at once.
    /// Call before the loops start.
    public static func disableFastBins() {
        Syscall.disableFastBins()
    }

    /// The bytes malloc set aside for a block it gave (glibc's
    /// malloc_usable_size: at least what was asked), for memory accounting.
    @inlinable
    public static func blockBytes(_ pointer: UnsafeMutableRawPointer) -> Int {
        malloc_usable_size(pointer)
    }
}

/// The thread returnFreePagesInBackground wakes.
final class HeapTrimmer: Sendable {
    static let shared = HeapTrimmer()

    private let started = Atomic<Bool>(false)
    /// A walk was asked for and has not begun yet.
    private let requested = Atomic<Bool>(false)
    private nonisolated(unsafe) let signal: UnsafeMutablePointer<sem_t>

    private init() {
        signal = .allocate(capacity: 1)
        sem_init(signal, 0, 0)
    }

    func request() {
        if started.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            LoopThread.detached(name: "keel-heap-trim") { self.run() }
        }
        if !requested.exchange(true, ordering: .acquiringAndReleasing) { sem_post(signal) }
    }

    private func run() {
        while true {
            while sem_wait(signal) != 0 {}
            requested.store(false, ordering: .releasing)
            Syscall.releaseFreeHeap()
        }
    }
}
