// FrameDecoder: finds complete frames in a run of bytes without copying, and
// checks every announced length against the limit as soon as the header is
// complete, before a single byte of the body is buffered.

/// What the decoder found at an offset.
public enum DecodedFrame: Equatable, Sendable {
    /// A complete frame: its payload occupies `payload` and the next frame
    /// starts at `next`.
    case frame(payload: Range<Int>, next: Int)
    /// The bytes from the offset on are a valid but incomplete frame.
    case incomplete
    /// The header announces more than the limit: the connection must close.
    case oversize(announced: UInt64)
}

/// A run of complete frames found by `FrameDecoder.scanCompleteFrames`.
public struct FrameScan: Equatable, Sendable {
    /// Where the complete frames end (the start of what follows them).
    public let end: Int
    /// How many complete frames there are.
    public let frames: Int
    /// Whether the frame at `end` announces more than the limit.
    public let oversize: Bool

    /// A scan result.
    @inlinable
    public init(end: Int, frames: Int, oversize: Bool) {
        self.end = end
        self.frames = frames
        self.oversize = oversize
    }
}

/// Splits a byte stream into length-prefixed frames.
public struct FrameDecoder: Sendable {
    /// The length-prefix layout.
    public let format: FrameFormat
    /// The largest payload accepted, in bytes (never above what the format can announce).
    public let maxMessageBytes: Int

    /// - Parameters:
    ///   - format: the length-prefix layout.
    ///   - maxMessageBytes: the largest payload accepted; clamped to what the
    ///     format can announce.
    @inlinable
    public init(format: FrameFormat, maxMessageBytes: Int) {
        precondition(maxMessageBytes >= 0, "maxMessageBytes must not be negative")
        self.format = format
        self.maxMessageBytes = Int(min(UInt64(maxMessageBytes), format.largestLength))
    }

    /// The frame starting at `offset` in `bytes`.
    @inlinable @inline(__always)
    public func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> DecodedFrame {
        let header = format.headerBytes
        let available = bytes.count - offset
        guard available >= header else { return .incomplete }
        let announced = format.decodeLength(bytes.baseAddress.unsafelyUnwrapped + offset)
        guard announced <= UInt64(maxMessageBytes) else { return .oversize(announced: announced) }
        let length = Int(truncatingIfNeeded: announced)
        guard available - header >= length else { return .incomplete }
        let start = offset + header
        return .frame(payload: start..<(start + length), next: start + length)
    }

    /// The run of complete frames at the start of `bytes`: where it ends,
    /// how many frames it holds, and whether the frame after it announces
    /// more than the limit. The same answer as calling `decode` frame by
    /// frame, in a loop with one header layout chosen up front (the echo fast
    /// path scans every byte it reads this way). Not inlined on purpose: on
    /// its own the loop keeps everything in registers (about 10 instructions
    /// a frame); inlined into the event loop it spilled to the stack (19).
    /// Emitted into the caller's module: the loop lives in another module
    /// than this scanner, and a copy the optimiser can see lets it keep the
    /// loop's state in registers across the call (0.07 instructions a
    /// message fewer than calling this module's copy).
    @_alwaysEmitIntoClient @inline(never)
    public func scanCompleteFrames(_ bytes: UnsafeRawBufferPointer) -> FrameScan {
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
    ) -> FrameScan {
        guard let base = bytes.baseAddress else { return FrameScan(end: 0, frames: 0, oversize: false) }
        let end = base + bytes.count
        let limit = UInt64(maxMessageBytes)
        var frame = base
        var frames = 0
        // A frame is passed only once its header and body fit before `end`.
        // `next` cannot wrap: a length that passed the limit check is at most
        // Int.max, and user-space addresses lie far below 2^63.
        while end - frame >= headerBytes {
            let announced = length(frame)
            if announced > limit { return FrameScan(end: frame - base, frames: frames, oversize: true) }
            let next = frame + headerBytes + Int(truncatingIfNeeded: announced)
            if next > end { break }
            frame = next
            frames &+= 1
        }
        let offset = frame - base
        return FrameScan(end: offset, frames: frames, oversize: false)
    }

    /// Header plus payload for a frame announcing `length` (checked first).
    @inlinable @inline(__always)
    public func frameBytes(announcing length: UInt64) -> Int? {
        length <= UInt64(maxMessageBytes) ? format.headerBytes + Int(length) : nil
    }
}
