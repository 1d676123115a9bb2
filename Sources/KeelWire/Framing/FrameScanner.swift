// FrameScanner: the echo fast path's scan of a read: the run of whole
// length-prefixed frames at its start, with every announced length checked
// against the limit as soon as its header is complete, before a byte of the
// body is looked at. It answers what decoding frame by frame with
// LengthPrefixDecoder answers (the tests hold the two together), in one
// loop with the header layout chosen up front.

/// Scans a byte stream for whole length-prefixed frames.
@usableFromInline
package struct FrameScanner: Sendable {
    /// The length-prefix layout.
    @usableFromInline package let format: FrameFormat
    /// The largest payload accepted, in bytes (never above what the format can announce).
    @usableFromInline package let maxMessageBytes: Int

    /// A scanner for `format` with payloads of at most `maxMessageBytes`
    /// (clamped to what the format can announce).
    @inlinable
    package init(format: FrameFormat, maxMessageBytes: Int) {
        precondition(maxMessageBytes >= 0, "maxMessageBytes must not be negative")
        self.format = format
        self.maxMessageBytes = Int(min(UInt64(maxMessageBytes), format.largestLength))
    }

    /// The run of whole frames at the start of `bytes`: where it ends, how
    /// many frames it holds, and whether the frame after it announces more
    /// than the limit. Not inlined on purpose: on its own the loop keeps
    /// everything in registers (about 10 instructions a frame); inlined into
    /// the event loop it spilled to the stack (19). Emitted into the
    /// caller's module: the loop lives in another module than this scanner,
    /// and a copy the optimiser can see lets it keep the loop's state in
    /// registers across the call (0.07 instructions a message fewer than
    /// calling this module's copy).
    @_alwaysEmitIntoClient @inline(never)
    package func scanWholeFrames(_ bytes: UnsafeRawBufferPointer) -> WholeRequests {
        switch (format.headerBytes, format.byteOrder) {
        case (4, .littleEndian):
            return scan(bytes, headerBytes: 4) { UInt64(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
        case (4, .bigEndian):
            return scan(bytes, headerBytes: 4) { UInt64(UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self))) }
        default:
            return scan(bytes, headerBytes: format.headerBytes) { format.decodeLength($0) }
        }
    }

    @inlinable @inline(__always)
    func scan(
        _ bytes: UnsafeRawBufferPointer, headerBytes: Int, length: (UnsafeRawPointer) -> UInt64
    ) -> WholeRequests {
        guard let base = bytes.baseAddress else { return WholeRequests(end: 0, count: 0, violationFollows: false) }
        let end = base + bytes.count
        let limit = UInt64(maxMessageBytes)
        var frame = base
        var frames = 0
        // A frame is passed only once its header and body fit before `end`.
        // `next` cannot wrap: a length that passed the limit check is at most
        // Int.max, and user-space addresses lie far below 2^63.
        while end - frame >= headerBytes {
            let announced = length(frame)
            if announced > limit { return WholeRequests(end: frame - base, count: frames, violationFollows: true) }
            let next = frame + headerBytes + Int(truncatingIfNeeded: announced)
            if next > end { break }
            frame = next
            frames &+= 1
        }
        return WholeRequests(end: frame - base, count: frames, violationFollows: false)
    }
}
