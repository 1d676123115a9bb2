import KeelTestSupport
import Testing

@testable import KeelWire

@Suite struct BufferPoolTests {
    @Test func roundsRequestsUpToPowersOfTwo() {
        let pool = BufferPool(minimumBlockBytes: 256)
        #expect(pool.blockSize(for: 1) == 256)
        #expect(pool.blockSize(for: 256) == 256)
        #expect(pool.blockSize(for: 257) == 512)
        #expect(pool.blockSize(for: 65_536) == 65_536)
        #expect(pool.blockSize(for: (1 << 20) + 4) == 2 << 20)
    }

    @Test func reusesBlocksWithinItsBudgetAndFreesBeyondIt() {
        let pool = BufferPool(minimumBlockBytes: 256, maximumRetainedBlockBytes: 4096, retainedBytesLimit: 1024)
        let blocks = (0..<8).map { _ in pool.take(size: 256)! }
        #expect(pool.systemAllocations == 8)
        for block in blocks { pool.give(block, size: 256) }
        #expect(pool.retainedBytes == 1024, "only four 256-byte blocks fit the budget")
        pool.checkInvariants()
        let again = (0..<4).map { _ in pool.take(size: 256)! }
        #expect(pool.systemAllocations == 8, "the four retained blocks are reused")
        for block in again { pool.give(block, size: 256) }
        let large = pool.take(size: 8192)!
        pool.give(large, size: 8192)
        #expect(pool.retainedBytes == 1024, "blocks above the retained size are freed")
        pool.trim()
        #expect(pool.retainedBytes == 0)
        #expect(pool.outstandingBytes == 0)
        pool.checkInvariants()
    }

    @Test func takesNewBlocksFromItsMemoryAndReturnsWhatItWillNotKeep() {
        // What the pool asked of its memory: (bytes, large) per call, + for allocate, - for release.
        let calls = Guarded<[(Int, Bool)]>([])
        let memory = BlockMemory(
            allocate: { bytes, large in
                calls.withLock { $0.append((bytes, large)) }
                return BlockMemory.swiftHeap.allocate(bytes, large)
            },
            release: { block, bytes, large in
                calls.withLock { $0.append((-bytes, large)) }
                BlockMemory.swiftHeap.release(block, bytes, large)
            })
        do {
            let pool = BufferPool(
                minimumBlockBytes: 256, maximumRetainedBlockBytes: 4096, retainedBytesLimit: 1024, memory: memory)
            // Kept alive through the checks: an optimised build may end its
            // life at its last use, and its deinit releases what it kept.
            withExtendedLifetime(pool) {
                let small = pool.take(size: 512)!
                let large = pool.take(size: 8192)!
                pool.give(small, size: 512)  // kept
                pool.give(large, size: 8192)  // above the largest class: released at once
                #expect(calls.withLock { $0.map(\.0) } == [512, 8192, -8192])
                #expect(calls.withLock { $0.map(\.1) } == [false, true, true])
            }
        }
        // The pool's deinit releases what it kept.
        #expect(calls.withLock { $0.last?.0 } == -512)
    }

    @Test func aBlockMemoryThatFailsFailsOnlyTheRequest() {
        let memory = BlockMemory(allocate: { _, _ in nil }, release: { _, _, _ in Issue.record("nothing to release") })
        let pool = BufferPool(minimumBlockBytes: 256, memory: memory)
        #expect(pool.take(size: 256) == nil)
        #expect(pool.failedAllocations == 1)
        #expect(pool.outstandingBytes == 0)
        pool.checkInvariants()
    }

    #if DEBUG
        /// Debug builds track the blocks a pool handed out: a block given
        /// back to another pool (which might free it with another memory
        /// source) stops the process instead.
        @Test func aBlockGivenToAnotherPoolStopsTheProcess() async {
            await #expect(processExitsWith: .failure) {
                let first = BufferPool(minimumBlockBytes: 256)
                let second = BufferPool(minimumBlockBytes: 256)
                // Two blocks swapped between the pools: every byte count
                // balances, so only the tracking of blocks can tell.
                let firsts = first.take(size: 256)!
                let seconds = second.take(size: 256)!
                second.give(firsts, size: 256)
                first.give(seconds, size: 256)
            }
        }

        @Test func aBlockReturnedWithAnotherSizeStopsTheProcess() async {
            await #expect(processExitsWith: .failure) {
                let pool = BufferPool(minimumBlockBytes: 256)
                // Sizes swapped: the byte counts balance.
                let large = pool.take(size: 512)!
                let small = pool.take(size: 256)!
                pool.give(large, size: 256)
                pool.give(small, size: 512)
            }
        }
    #endif
}
