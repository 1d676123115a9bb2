// BlockMemory: where a BufferPool gets the blocks its free lists cannot give,
// and where it puts back the blocks it will not keep.
//
// Why injected: the pool is wire-layer code (rings, the message assembler and
// the fuzz target use it) and must not need the C library; the server wants
// memory that can fail per connection (malloc returning NULL under an
// address-space limit) and large blocks mapped from the kernel, so it passes
// the system layer's `BlockMemory.system`. The default, Swift's allocator,
// stops the process when memory runs out: fine for tests, tools and fuzzing.

/// A source of memory blocks for a BufferPool.
@usableFromInline
package struct BlockMemory: Sendable {
    /// A block of `bytes` bytes, aligned to 16, or nil when none can be had.
    /// `large` marks a block the pool never retains (one larger than its
    /// largest size class), which a source may take from elsewhere.
    @usableFromInline package let allocate: @Sendable (_ bytes: Int, _ large: Bool) -> UnsafeMutableRawPointer?
    /// Returns a block `allocate` gave, with the same size and `large`.
    @usableFromInline package let release:
        @Sendable (_ block: UnsafeMutableRawPointer, _ bytes: Int, _ large: Bool) -> Void

    package init(
        allocate: @escaping @Sendable (_ bytes: Int, _ large: Bool) -> UnsafeMutableRawPointer?,
        release: @escaping @Sendable (_ block: UnsafeMutableRawPointer, _ bytes: Int, _ large: Bool) -> Void
    ) {
        self.allocate = allocate
        self.release = release
    }

    /// Swift's allocator, for every size; never returns nil.
    @usableFromInline package static let swiftHeap = BlockMemory(
        allocate: { bytes, _ in UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16) },
        release: { block, _, _ in block.deallocate() }
    )
}
