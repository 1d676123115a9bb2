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
    public init(format: FrameFormat, maxMessageBytes: Int) {
        precondition(maxMessageBytes >= 0, "maxMessageBytes must not be negative")
        self.format = format
        self.maxMessageBytes = Int(min(UInt64(maxMessageBytes), format.largestLength))
    }

    /// The frame starting at `offset` in `bytes`.
    @inline(__always)
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

    /// Header plus payload for a frame announcing `length` (checked first).
    @inline(__always)
    public func frameBytes(announcing length: UInt64) -> Int? {
        length <= UInt64(maxMessageBytes) ? format.headerBytes + Int(length) : nil
    }
}
