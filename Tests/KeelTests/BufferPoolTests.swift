import Testing

@testable import Keel

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
}
