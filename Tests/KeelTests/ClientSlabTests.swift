// ClientSlab (TESTPLAN item 3): fill, free in random order, reuse; the
// generation moves on reuse and stale IDs are refused.

import KeelTestSupport
import Testing

@testable import Keel

@Suite struct ClientSlabTests {
    @Test func fillsFreesInRandomOrderAndReuses() {
        let pool = BufferPool()
        let slab = ClientSlab(capacity: 64)
        var random = SeededRandom(seed: 42)
        for round in 0..<20 {
            var live: [(slot: UInt32, generation: UInt32)] = []
            while let slot = slab.allocate(fd: Int32(live.count)) {
                live.append((slot, slab[slot].generation))
                slab.checkInvariants()
            }
            #expect(live.count == 64, "round \(round)")
            #expect(slab.isFull)
            live.shuffle(using: &random)
            for (slot, generation) in live {
                #expect(slab.isCurrent(slot: slot, generation: generation))
                [UInt8](repeating: 7, count: 10).withUnsafeBytes {
                    precondition(slab[slot].output.append($0, pool: pool), "out of memory")
                }
                slab.free(slot, pool: pool)
                #expect(!slab.isCurrent(slot: slot, generation: generation), "a freed slot's ID must be stale")
                slab.checkInvariants()
            }
            #expect(slab.liveCount == 0)
            #expect(pool.outstandingBytes == 0, "freeing a slot gives its ring memory back")
        }
    }

    @Test func generationMovesOnReuseAndStaleIDsAreRefused() {
        let pool = BufferPool()
        let slab = ClientSlab(capacity: 4)
        let first = slab.allocate(fd: 10)!
        let firstGeneration = slab[first].generation
        slab.free(first, pool: pool)
        let second = slab.allocate(fd: 11)!
        #expect(second == first, "LIFO free list reuses the slot just freed")
        #expect(slab[second].generation == firstGeneration &+ 1)
        #expect(!slab.isCurrent(slot: first, generation: firstGeneration))
        #expect(slab.isCurrent(slot: second, generation: slab[second].generation))
        #expect(!slab.isCurrent(slot: 99, generation: 0), "out-of-range slots are never current")
        let token = EventToken(slot: second, generation: slab[second].generation)
        #expect(token.slot == second && token.generation == slab[second].generation)
        slab.free(second, pool: pool)
    }

    @Test func idleConnectionBookkeepingIsSmall() {
        // An idle connection costs its slot plus one node in each of the three
        // timeout lists, and no buffer (rings are empty while idle).
        let perConnection = MemoryLayout<ClientSlot>.stride + 3 * TimeoutList.bytesPerSlot
        #expect(perConnection <= 200, "slot \(MemoryLayout<ClientSlot>.stride) B + nodes = \(perConnection) B")
        #expect(MemoryLayout<ClientSlot>.stride <= 80, "the README's figure for a slot")
    }
}
