// Keel's per-message structures under ordo-one/benchmark. Each benchmark
// reports mallocs per iteration next to time: the hot structures must stay
// at zero once warmed up.

import Benchmark
import Keel

/// Feeds one read's bytes and counts the payload bytes delivered.
@inline(__always)
func feed(
    _ bytes: UnsafeRawBufferPointer, _ decoder: inout LengthPrefixDecoder, _ pending: inout RingBuffer,
    _ pool: BufferPool, _ delivered: inout Int
) {
    _ = MessageAssembler.feed(bytes, decoder: &decoder, pending: &pending, pool: pool) { payload in
        delivered &+= payload.count
        return true
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(2))

    // 16 frames of 64 bytes, as one read would bring them.
    let frame = [UInt8](repeating: 0, count: 4) + [UInt8](repeating: 7, count: 64)
    var stream: [UInt8] = []
    for _ in 0..<16 {
        var header = frame
        header.withUnsafeMutableBytes { FrameFormat.u32le.encodeLength(64, into: $0.baseAddress!) }
        stream += header
    }
    let stream16 = stream

    Benchmark("MessageAssembler (length prefix): 16 × 64 B frames in one read") { benchmark in
        var decoder = LengthPrefixFormat().makeDecoder()
        let pool = BufferPool()
        var pending = RingBuffer()
        var delivered = 0
        stream16.withUnsafeBytes { bytes in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                feed(bytes, &decoder, &pending, pool, &delivered)
            }
            benchmark.stopMeasurement()
        }
        blackHole(delivered)
        pending.removeAll(pool: pool)
    }

    Benchmark("MessageAssembler (length prefix): a frame split across two reads") { benchmark in
        var decoder = LengthPrefixFormat().makeDecoder()
        let pool = BufferPool()
        var pending = RingBuffer()
        var delivered = 0
        let first = Array(stream16[..<30])
        let second = Array(stream16[30..<68])
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for chunk in [first, second] {
                chunk.withUnsafeBytes { feed($0, &decoder, &pending, pool, &delivered) }
            }
        }
        benchmark.stopMeasurement()
        blackHole(delivered)
        pending.removeAll(pool: pool)
    }

    Benchmark("RingBuffer: append 4 KiB, consume it (pool-backed)") { benchmark in
        let pool = BufferPool()
        var ring = RingBuffer()
        let block = [UInt8](repeating: 1, count: 4096)
        block.withUnsafeBytes { bytes in
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                precondition(ring.append(bytes, pool: pool))
                ring.consume(bytes.count, pool: pool)
            }
            benchmark.stopMeasurement()
        }
        blackHole(pool.systemAllocations)
        ring.removeAll(pool: pool)
    }

    Benchmark("BufferPool: take and give a 16 KiB block") { benchmark in
        let pool = BufferPool()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let block = pool.take(size: 16_384)!
            pool.give(block, size: 16_384)
        }
        benchmark.stopMeasurement()
        blackHole(pool.retainedBytes)
    }
}
