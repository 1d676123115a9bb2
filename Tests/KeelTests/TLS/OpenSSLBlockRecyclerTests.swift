// OpenSSLBlockRecycler: OpenSSL's small bookkeeping blocks come back from a
// per-thread list instead of malloc, and nothing else changes: other sizes,
// blocks freed on a thread without a list, and a full list go to free.

import COpenSSL
import Glibc
import KeelPosix
import Testing

@testable import Keel

@Suite struct OpenSSLBlockRecyclerTests {
    init() {
        #expect(OpenSSLBlockRecycler.installed, "OpenSSL had allocation functions other than its own")
    }

    /// Allocations and frees through OpenSSL, as its record layer makes them.
    func openSSLAllocate(_ size: Int) -> UnsafeMutableRawPointer? { CRYPTO_malloc(size, #fileID, #line) }
    func openSSLFree(_ pointer: UnsafeMutableRawPointer?) { CRYPTO_free(pointer, #fileID, #line) }

    @Test func aFreedBlockOfTheClassIsHandedOutAgainOnItsThread() throws {
        let first = try #require(openSSLAllocate(40))
        #expect(HeapMemory.blockBytes(first) >= OpenSSLBlockRecycler.blockBytes)
        openSSLFree(first)
        // Any request of 25 to 40 bytes takes the kept block, last freed first.
        let second = try #require(openSSLAllocate(32))
        #expect(second == first)
        memset(second, 0xA5, 40)  // the whole class is usable
        openSSLFree(second)
    }

    @Test func smallerRequestsAreNotRoundedUp() throws {
        let small = try #require(openSSLAllocate(16))
        // malloc's own smaller chunk, not a recycled 40-byte block.
        #expect(HeapMemory.blockBytes(small) < OpenSSLBlockRecycler.blockBytes)
        openSSLFree(small)
        #expect(openSSLAllocate(0) == nil, "0 bytes answers nil, as OpenSSL's own CRYPTO_malloc")
    }

    @Test func aThreadKeepsAtMostItsLimit() throws {
        let limit = OpenSSLBlockRecycler.perThreadLimit
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<(limit + 10) { blocks.append(try #require(openSSLAllocate(40))) }
        for block in blocks { openSSLFree(block) }
        let kept = try #require(OpenSSLBlockRecycler.threadBlocks(creating: false))
        #expect(kept.pointee.count == limit)
        // Counted and listed agree.
        var listed = 0
        var next = kept.pointee.head
        while let block = next, listed <= limit {
            listed += 1
            next = block.load(as: UnsafeMutableRawPointer?.self)
        }
        #expect(listed == limit)
    }

    @Test func reallocAndFreesFromAnotherThreadStayOrdinaryMallocBlocks() throws {
        let block = try #require(openSSLAllocate(40))
        memset(block, 7, 40)
        let grown = try #require(CRYPTO_realloc(block, 4_096, #fileID, #line))
        #expect(grown.load(fromByteOffset: 39, as: UInt8.self) == 7, "realloc keeps the contents")
        #expect(CRYPTO_realloc(grown, 0, #fileID, #line) == nil, "realloc to 0 frees, as OpenSSL's")
        // A block made here and freed on a thread that never allocated
        // through OpenSSL: that thread has no list, so it goes to free.
        let crossing = try #require(openSSLAllocate(40))
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { argument in
                CRYPTO_free(argument, nil, 0)
                let list = OpenSSLBlockRecycler.threadBlocks(creating: false)
                return UnsafeMutableRawPointer(bitPattern: list == nil ? 1 : 2)
            }, crossing)
        try #require(started == 0)
        var result: UnsafeMutableRawPointer?
        pthread_join(thread, &result)
        #expect(result == UnsafeMutableRawPointer(bitPattern: 1), "the freeing thread made no list")
    }
}
