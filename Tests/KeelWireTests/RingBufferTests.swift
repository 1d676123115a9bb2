// RingBuffer against a plain [UInt8] model (TESTPLAN item 1): random appends,
// consumes, straightening and segment reads, invariants after every step.

import Glibc
import KeelTestSupport
import Testing

@testable import KeelWire

@Suite struct RingBufferTests {
    /// Random operations per seed (TESTPLAN item 1).
    static let steps = 100_000

    @Test(arguments: [16, 4096, 65_536])
    func matchesModelUnderRandomOperations(maxContent: Int) {
        for seed in UInt64(1)...8 {
            let pool = BufferPool(minimumBlockBytes: 16, maximumRetainedBlockBytes: 65_536)
            var ring = RingBuffer()
            // The model: model[modelStart...] is the readable content.
            var model: [UInt8] = []
            var modelStart = 0
            var random = SeededRandom(seed: seed &* 7919 &+ UInt64(maxContent))
            let source = payload(count: 2 * maxContent, seed: seed)
            var sourceOffset = 0
            for step in 0..<Self.steps {
                let modelCount = model.count - modelStart
                switch random.next() % 5 {
                case 0, 1:
                    let room = maxContent - modelCount
                    guard room > 0 else { continue }
                    let count = Int(random.next() % UInt64(min(room, max(1, maxContent / 3)) + 1))
                    sourceOffset = (sourceOffset + 1) % maxContent
                    let bytes = source[sourceOffset..<(sourceOffset + count)]
                    bytes.withUnsafeBytes { precondition(ring.append($0, pool: pool), "out of memory") }
                    model.append(contentsOf: bytes)
                case 2, 3:
                    let count = modelCount == 0 ? 0 : Int(random.next() % UInt64(modelCount + 1))
                    ring.consume(count, pool: pool)
                    modelStart += count
                    if modelStart == model.count {
                        model.removeAll(keepingCapacity: true)
                        modelStart = 0
                    }
                default:
                    let same = model.withUnsafeBytes { all in
                        let expected = UnsafeRawBufferPointer(rebasing: all[modelStart...])
                        if random.next() % 2 == 0 {
                            return ring.withContiguousBytes { Self.equal($0, expected) }
                        }
                        return ring.withReadableSegments { first, second in
                            Self.equal(first, UnsafeRawBufferPointer(rebasing: expected[..<first.count]))
                                && Self.equal(second, UnsafeRawBufferPointer(rebasing: expected[first.count...]))
                        }
                    }
                    if !same {
                        Issue.record("seed \(seed) step \(step): ring content differs from the model")
                        ring.removeAll(pool: pool)
                        return
                    }
                }
                ring.checkInvariants()
                if ring.count != model.count - modelStart || ring.isEmpty != (ring.capacity == 0) {
                    Issue.record("seed \(seed) step \(step): count \(ring.count) vs model \(model.count - modelStart)")
                    ring.removeAll(pool: pool)
                    return
                }
            }
            ring.removeAll(pool: pool)
            #expect(pool.outstandingBytes == 0)
            pool.checkInvariants()
        }
    }

    private static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    @Test func headerSplitAtEveryOffsetAcrossTheWrapPoint() {
        let pool = BufferPool(minimumBlockBytes: 16, maximumRetainedBlockBytes: 16)
        let format = FrameFormat.u32le
        for start in 0..<16 {
            var ring = RingBuffer()
            // Park one filler byte at `start` in a 16-byte block, append the
            // header after it (wrapping for starts near the end), drop the filler.
            let filler = [UInt8](repeating: 0xEE, count: start + 1)
            filler.withUnsafeBytes { precondition(ring.append($0, pool: pool), "out of memory") }
            ring.consume(start, pool: pool)
            let header: [UInt8] = [0x78, 0x56, 0x34, 0x12]
            header.withUnsafeBytes { precondition(ring.append($0, pool: pool), "out of memory") }
            ring.consume(1, pool: pool)
            #expect(ring.capacity == 16, "no growth: the header must sit across the wrap point")
            ring.checkInvariants()
            var copied: UInt64 = 0
            let length = withUnsafeMutableBytes(of: &copied) { raw in
                ring.copyPrefix(into: UnsafeMutableRawBufferPointer(rebasing: raw[..<4]))
                return format.decodeLength(UnsafeRawPointer(raw.baseAddress!))
            }
            #expect(length == 0x1234_5678, "start \(start)")
            let contiguous = ring.withContiguousBytes { format.decodeLength($0.baseAddress!) }
            #expect(contiguous == 0x1234_5678, "start \(start)")
            ring.removeAll(pool: pool)
        }
        #expect(pool.outstandingBytes == 0)
    }

    @Test func holdsNoMemoryWhenEmptyAndReusesPoolBlocks() {
        let pool = BufferPool()
        var ring = RingBuffer()
        #expect(ring.capacity == 0)
        for _ in 0..<1_000 {
            [UInt8](repeating: 1, count: 100).withUnsafeBytes {
                precondition(ring.append($0, pool: pool), "out of memory")
            }
            #expect(ring.capacity == pool.minimumBlockBytes)
            ring.consume(100, pool: pool)
            #expect(ring.capacity == 0)
        }
        #expect(pool.systemAllocations == 1, "every reuse after the first must come from the pool")
        ring.removeAll(pool: pool)
    }

    @Test func growsToTheNextPowerOfTwoKeepingOrder() {
        let pool = BufferPool(minimumBlockBytes: 16)
        var ring = RingBuffer()
        let bytes = (0..<1_000).map { UInt8(truncatingIfNeeded: $0) }
        for chunk in stride(from: 0, to: bytes.count, by: 7) {
            Array(bytes[chunk..<min(chunk + 7, bytes.count)]).withUnsafeBytes {
                precondition(ring.append($0, pool: pool), "out of memory")
            }
            ring.checkInvariants()
        }
        #expect(ring.capacity == 1024)
        #expect(ring.withReadableSegments { Array($0) + Array($1) } == bytes)
        ring.removeAll(pool: pool)
    }
}
