// OpenSSLBlockRecycler: OpenSSL's small bookkeeping blocks come back from a
// per-thread list instead of malloc, and nothing else changes: other sizes,
// blocks freed on a thread without a list, and a full list go to free.
// The list itself is tested through the recycler's own functions (also
// under the sanitizers, where it is not installed); OpenSSL's use of it
// where it is installed.

import COpenSSL
import Foundation
import Glibc
import KeelPosix
import Testing

@testable import Keel

@Suite struct OpenSSLBlockRecyclerTests {
    typealias Recycler = OpenSSLBlockRecycler

    /// The sanitizers' runs leave OpenSSL its allocator (kept blocks would
    /// skip their quarantine).
    static let sanitized = ProcessInfo.processInfo.environment["KEEL_SANITIZER"] != nil

    /// This thread's kept blocks (a list is made by the first allocation).
    func keptCount() -> Int { Recycler.threadBlocks(creating: false)?.pointee.count ?? 0 }

    @Test func aFreedBlockOfTheClassIsKeptAndHandedOutAgain() throws {
        let first = try #require(Recycler.allocate(40))
        #expect((Recycler.blockBytes...Recycler.largestKeptBytes).contains(HeapMemory.blockBytes(first)))
        // Make room, so that the free below is kept whatever earlier tests
        // on this thread left.
        var held: [UnsafeMutableRawPointer] = []
        while keptCount() > 0 { held.append(try #require(Recycler.allocate(40))) }
        Recycler.release(first)
        #expect(keptCount() == 1, "the freed block waits on the list")
        // Any request of 25 to 40 bytes takes it, and all 40 bytes are usable.
        let second = try #require(Recycler.allocate(25))
        #expect(second == first && keptCount() == 0)
        memset(second, 0xA5, 40)
        Recycler.release(second)
        for block in held { Recycler.release(block) }
    }

    @Test func otherSizesGoStraightToMalloc() throws {
        // One block waits on the list; requests of other sizes leave it.
        var held: [UnsafeMutableRawPointer] = []
        while keptCount() > 0 { held.append(try #require(Recycler.allocate(40))) }
        let waiting = try #require(Recycler.allocate(40))
        Recycler.release(waiting)
        try #require(keptCount() == 1)
        let small = try #require(Recycler.allocate(16))
        let large = try #require(Recycler.allocate(41))
        #expect(small != waiting && large != waiting && keptCount() == 1, "neither took the kept block")
        #expect(Recycler.allocate(0) == nil, "0 bytes answers nil, as OpenSSL's own CRYPTO_malloc")
        Recycler.release(small)
        Recycler.release(large)
        for block in held { Recycler.release(block) }
    }

    @Test func aThreadKeepsAtMostItsLimit() throws {
        let limit = Recycler.perThreadLimit
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<(limit + 10) { blocks.append(try #require(Recycler.allocate(40))) }
        for block in blocks { Recycler.release(block) }
        let kept = try #require(Recycler.threadBlocks(creating: false))
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

    @Test func aBlockFreedOnAThreadWithoutAListGoesToFree() throws {
        let crossing = try #require(Recycler.allocate(40))
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { argument in
                OpenSSLBlockRecycler.release(argument)
                let list = OpenSSLBlockRecycler.threadBlocks(creating: false)
                return UnsafeMutableRawPointer(bitPattern: list == nil ? 1 : 2)
            }, crossing)
        try #require(started == 0)
        var result: UnsafeMutableRawPointer?
        pthread_join(thread, &result)
        #expect(result == UnsafeMutableRawPointer(bitPattern: 1), "the freeing thread made no list")
    }

    /// Where installed, OpenSSL's own allocation calls reach the list, and
    /// its realloc contract holds (nil grows from nothing, 0 frees).
    @Test(.enabled(if: !sanitized, "under a sanitizer OpenSSL keeps its allocator"))
    func openSSLAllocatesThroughTheRecycler() throws {
        #expect(Recycler.installed, "OpenSSL had allocated, or had other allocation functions, before this suite")
        let block = try #require(CRYPTO_malloc(40, #fileID, #line))
        var held: [UnsafeMutableRawPointer] = []
        while keptCount() > 0 { held.append(try #require(CRYPTO_malloc(40, #fileID, #line))) }
        CRYPTO_free(block, #fileID, #line)
        #expect(keptCount() == 1, "CRYPTO_free kept the block")
        let fromNothing = try #require(CRYPTO_realloc(nil, 32, #fileID, #line))
        #expect(fromNothing == block && keptCount() == 0, "realloc of nil took the kept block")
        memset(fromNothing, 7, 32)
        let grown = try #require(CRYPTO_realloc(fromNothing, 4_096, #fileID, #line))
        #expect(grown.load(fromByteOffset: 31, as: UInt8.self) == 7, "realloc keeps the contents")
        #expect(CRYPTO_realloc(grown, 0, #fileID, #line) == nil, "realloc to 0 frees")
        for block in held { CRYPTO_free(block, #fileID, #line) }
    }
}
