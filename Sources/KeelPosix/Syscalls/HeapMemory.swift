// HeapMemory: what a service on Keel may ask of malloc. Keel's loops give
// their own buffers back when they go quiet; a service that frees much of
// its own memory (a store after a mass delete) calls this to do the same.

import CShims

/// The process's malloc heap.
public enum HeapMemory {
    /// Asks malloc to hand its free pages back to the kernel (glibc's
    /// malloc_trim), so resident memory falls after a large free. Costs a
    /// walk over malloc's free lists: call it after a burst of frees, not
    /// per free.
    public static func returnFreePages() {
        Syscall.releaseFreeHeap()
    }

    /// The bytes malloc set aside for a block it gave (glibc's
    /// malloc_usable_size: at least what was asked), for memory accounting.
    @inlinable
    public static func blockBytes(_ pointer: UnsafeMutableRawPointer) -> Int {
        malloc_usable_size(pointer)
    }
}
