// Framing (TESTPLAN item 2): every width and byte order round-trips; frames
// split at every point of a stream, drip-fed, or coalesced are delivered
// whole and in order; oversize lengths are refused before anything is kept.

import KeelTestSupport
import Testing

@testable import KeelWire

/// Feeds chunks through MessageAssembler with the length-prefix decoder
/// (what the loop runs) and collects what it delivers.
private final class AssemblerHarness {
    var decoder: LengthPrefixDecoder
    let pool = BufferPool(minimumBlockBytes: 16)
    var pending = RingBuffer()
    var frames: [[UInt8]] = []

    init(format: FrameFormat = .u32le, maxMessageBytes: Int = 1 << 20) {
        decoder = LengthPrefixFormat(frame: format, maxMessageBytes: maxMessageBytes).makeDecoder()
    }

    deinit {
        pending.removeAll(pool: pool)
    }

    var pendingIsEmpty: Bool { pending.isEmpty }

    @discardableResult
    func feed(_ chunk: [UInt8], stopAfter limit: Int = .max) -> AssemblyOutcome {
        let outcome = chunk.withUnsafeBytes { bytes in
            MessageAssembler.feed(bytes, decoder: &decoder, pending: &pending, pool: pool) { payload in
                frames.append(Array(payload))
                return frames.count < limit
            }
        }
        pending.checkInvariants()
        return outcome
    }
}

@Suite struct FramingTests {
    @Test(arguments: FrameFormat.all)
    func everyFormatRoundTrips(format: FrameFormat) {
        let lengths: [UInt64] = [0, 1, 255, format.largestLength / 2, format.largestLength]
        for length in lengths {
            var buffer = [UInt8](repeating: 0, count: 8)
            buffer.withUnsafeMutableBytes { format.encodeLength(Int(clamping: length), into: $0.baseAddress!) }
            let decoded = buffer.withUnsafeBytes { format.decodeLength($0.baseAddress!) }
            #expect(decoded == UInt64(Int(clamping: length)), "\(format) length \(length)")
        }
        #expect(FrameFormat(name: format.name) == format)
    }

    @Test func byteOrderIsAsNamed() {
        var bytes = [UInt8](repeating: 0, count: 4)
        bytes.withUnsafeMutableBytes { FrameFormat.u32be.encodeLength(0x0102_0304, into: $0.baseAddress!) }
        #expect(bytes == [1, 2, 3, 4])
        bytes.withUnsafeMutableBytes { FrameFormat.u32le.encodeLength(0x0102_0304, into: $0.baseAddress!) }
        #expect(bytes == [4, 3, 2, 1])
        #expect(FrameFormat(name: "u9") == nil)
    }

    @Test(arguments: [0, 1, 255, 4096, 65_536])
    func everySplitPointOfAThreeFrameStream(secondLength: Int) {
        let payloads = [payload(count: 3, seed: 1), payload(count: secondLength, seed: 2), payload(count: 17, seed: 3)]
        let stream = payloads.flatMap { frame($0, format: .u32le) }
        // Every split point for small streams; a stride for long ones keeps it quick.
        let step = stream.count > 2_000 ? 61 : 1
        for split in stride(from: 0, through: stream.count, by: step) {
            let harness = AssemblerHarness()
            harness.feed(Array(stream[..<split]))
            harness.feed(Array(stream[split...]))
            #expect(harness.frames == payloads, "split at \(split)")
            #expect(harness.pendingIsEmpty, "nothing left pending after the last byte")
        }
    }

    @Test(arguments: FrameFormat.all)
    func dripFedOneByteAtATime(format: FrameFormat) {
        let lengths = [0, 1, 255, 40].filter { UInt64($0) <= format.largestLength }
        let payloads = lengths.enumerated().map { payload(count: $0.element, seed: UInt64($0.offset)) }
        let stream = payloads.flatMap { frame($0, format: format) }
        let harness = AssemblerHarness(format: format)
        for byte in stream { harness.feed([byte]) }
        #expect(harness.frames == payloads)
        #expect(harness.pendingIsEmpty)
    }

    @Test func thousandFramesInOneChunkAndTheMaximumSize() {
        let payloads = (0..<1_000).map { payload(count: $0 % 50, seed: UInt64($0)) }
        let harness = AssemblerHarness(maxMessageBytes: 4096)
        #expect(harness.feed(payloads.flatMap { frame($0, format: .u32le) }) == .consumed(requests: 1_000))
        #expect(harness.frames == payloads)
        let largest = payload(count: 4096, seed: 9)
        let framed = frame(largest, format: .u32le)
        harness.feed(Array(framed[..<100]))
        harness.feed(Array(framed[100...]))
        #expect(harness.frames.last == largest, "a maximum-size frame split in two is delivered")
    }

    @Test func oversizeLengthIsRefusedBeforeAnythingIsKept() {
        for announced: UInt32 in [4097, 0xFFFF_FFFF] {
            let harness = AssemblerHarness(maxMessageBytes: 4096)
            var header = [UInt8](repeating: 0, count: 4)
            header.withUnsafeMutableBytes { $0.storeBytes(of: announced.littleEndian, as: UInt32.self) }
            let allocationsBefore = harness.pool.systemAllocations
            #expect(
                harness.feed(header + [1, 2, 3]) == .violation(.oversize(announced: UInt64(announced)), requests: 0))
            #expect(harness.pendingIsEmpty, "no byte of an oversize frame is buffered")
            #expect(harness.pool.systemAllocations == allocationsBefore)
        }
        // The same when the header itself arrives split.
        let harness = AssemblerHarness(maxMessageBytes: 4096)
        harness.feed([0xFF, 0xFF])
        #expect(harness.feed([0xFF, 0xFF, 0]) == .violation(.oversize(announced: 0xFFFF_FFFF), requests: 0))
    }

    @Test func maximumPlusOneIsOversizeAndMaximumIsNot() {
        let harness = AssemblerHarness(maxMessageBytes: 10)
        #expect(harness.feed(frame(payload(count: 10, seed: 1), format: .u32le)) == .consumed(requests: 1))
        #expect(
            harness.feed(frame(payload(count: 11, seed: 1), format: .u32le))
                == .violation(.oversize(announced: 11), requests: 0))
    }

    @Test func stoppingDropsTheRest() {
        let harness = AssemblerHarness()
        let stream = (0..<5).flatMap { frame([UInt8($0)], format: .u32le) }
        #expect(harness.feed(stream, stopAfter: 2) == .stopped(requests: 2))
        #expect(harness.frames == [[0], [1]])
    }

    @Test func maxMessageIsClampedToWhatTheFormatCanAnnounce() {
        #expect(FrameScanner(format: .u8, maxMessageBytes: 1 << 20).maxMessageBytes == 255)
        #expect(FrameScanner(format: .u16be, maxMessageBytes: 1 << 20).maxMessageBytes == 65_535)
        #expect(FrameScanner(format: .u32le, maxMessageBytes: 1 << 20).maxMessageBytes == 1 << 20)
        #expect(LengthPrefixFormat(frame: .u8, maxMessageBytes: 1 << 20).maxMessageBytes == 255)
    }

    /// The format's decoder, frame by frame: the reference the scan must match.
    private func referenceScan(_ format: LengthPrefixFormat, _ bytes: UnsafeRawBufferPointer) -> WholeRequests {
        var decoder = format.makeDecoder()
        var offset = 0
        var frames = 0
        while true {
            switch decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
            case .request(_, let length):
                offset += length
                frames += 1
            case .skip, .needMore:
                return WholeRequests(end: offset, count: frames, violationFollows: false)
            case .violation:
                return WholeRequests(end: offset, count: frames, violationFollows: true)
            }
        }
    }

    @Test(arguments: FrameFormat.all)
    func scanningAgreesWithDecodingFrameByFrame(format: FrameFormat) {
        var random = SeededRandom(seed: 77)
        let scanner = FrameScanner(format: format, maxMessageBytes: 200)
        let decoding = LengthPrefixFormat(frame: format, maxMessageBytes: 200)
        for round in 0..<2_000 {
            // Frames within the limit, then maybe an oversize one, then a cut anywhere.
            var stream: [UInt8] = []
            for _ in 0..<Int(random.next() % 6) {
                stream += frame(
                    payload(count: Int(random.next() % 201), seed: random.next()), format: format)
            }
            if random.next() % 4 == 0, format.largestLength > 200 {
                stream += frame(payload(count: 201, seed: 1), format: format)
            }
            let cut = Int(random.next() % UInt64(stream.count + 1))
            stream.removeLast(stream.count - cut)
            stream.withUnsafeBytes { bytes in
                #expect(scanner.scanWholeFrames(bytes) == referenceScan(decoding, bytes), "round \(round)")
            }
        }
    }

    @Test func scanningAHugeAnnouncedLengthDoesNotOverflow() {
        // u64 with no practical limit: a length near UInt64.max must read as incomplete.
        let scanner = FrameScanner(format: .u64le, maxMessageBytes: .max)
        var bytes = [UInt8](repeating: 0xFF, count: 8) + [1, 2, 3]
        bytes[7] = 0x7F
        bytes.withUnsafeBytes {
            #expect(scanner.scanWholeFrames($0) == WholeRequests(end: 0, count: 0, violationFollows: false))
        }
    }
}
