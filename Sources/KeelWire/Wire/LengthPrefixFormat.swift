// LengthPrefixFormat: Keel's default wire format, the seeds' frames: a length
// field (1, 2, 4 or 8 bytes, either byte order; FrameFormat) and that many
// payload bytes. A request is its payload; a reply is framed the same way.
// A header announcing more than the limit is refused as soon as it is
// complete, before a byte of its body is buffered. Requests are their own
// echo, so the echo fast path can scan and return whole frames in place.

/// Length-prefixed messages: a length field, then that many payload bytes.
public struct LengthPrefixFormat: WireFormat, Hashable {
    /// The length field's width and byte order.
    public let frame: FrameFormat
    /// The largest payload accepted (never above what `frame` can announce).
    public let maxMessageBytes: Int

    /// - Parameters:
    ///   - frame: the length field (default u32le, the seeds' format).
    ///   - maxMessageBytes: the largest payload accepted; clamped to what
    ///     `frame` can announce.
    public init(frame: FrameFormat = .u32le, maxMessageBytes: Int = 1 << 20) {
        precondition(maxMessageBytes >= 0, "maxMessageBytes must not be negative")
        self.frame = frame
        self.maxMessageBytes = Int(min(UInt64(maxMessageBytes), frame.largestLength))
    }

    /// A decoder for one loop.
    public func makeDecoder() -> LengthPrefixDecoder {
        LengthPrefixDecoder(frame: frame, maxMessageBytes: maxMessageBytes)
    }

    /// Replies get the same length field.
    public func makeEncoder() -> LengthPrefixEncoder {
        LengthPrefixEncoder(frame: frame)
    }
}

/// Frames a reply with the format's length field.
public struct LengthPrefixEncoder: MessageEncoder {
    /// The length field.
    public let frame: FrameFormat

    /// Replies framed by `frame`.
    @inlinable
    public init(frame: FrameFormat) {
        self.frame = frame
    }

    /// What the length field can announce.
    @inlinable
    public var maxPayloadBytes: Int { Int(clamping: frame.largestLength) }

    /// The length field's width.
    @inlinable
    public var maxHeaderBytes: Int { frame.headerBytes }

    /// The length field.
    @inlinable
    public func writeHeader(payloadLength length: Int, to destination: UnsafeMutableRawPointer) -> Int {
        frame.encodeLength(length, into: destination)
        return frame.headerBytes
    }
}

/// Finds length-prefixed frames; a request is a frame's payload.
public struct LengthPrefixDecoder: MessageDecoder {
    /// The length field.
    public let frame: FrameFormat
    /// The largest payload accepted.
    public let maxMessageBytes: Int
    /// The frame is u32le, Keel's default: decoded without the general
    /// width and byte-order switches.
    @usableFromInline let isU32LE: Bool

    @inlinable
    init(frame: FrameFormat, maxMessageBytes: Int) {
        self.frame = frame
        self.maxMessageBytes = maxMessageBytes
        isU32LE = frame == .u32le
    }

    /// Header plus the largest payload.
    @inlinable
    public var maxRequestBytes: Int { frame.headerBytes + maxMessageBytes }

    /// The frame at the start of `bytes`: its payload, or how many bytes it
    /// needs (known exactly once its header is in), or a refusal when the
    /// header announces more than the limit.
    @inlinable @inline(__always)
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeStep<UnsafeRawBufferPointer> {
        let header = isU32LE ? 4 : frame.headerBytes
        guard bytes.count >= header else { return .needMore(atLeast: header) }
        let base = bytes.baseAddress.unsafelyUnwrapped
        let announced =
            isU32LE ? UInt64(UInt32(littleEndian: base.loadUnaligned(as: UInt32.self))) : frame.decodeLength(base)
        // maxMessageBytes is never negative (init), so the conversion cannot trap.
        guard announced <= UInt64(truncatingIfNeeded: maxMessageBytes) else {
            return .violation(.oversize(announced: announced))
        }
        let length = Int(truncatingIfNeeded: announced)
        let total = header &+ length
        guard bytes.count >= total else { return .needMore(atLeast: total) }
        return .request(UnsafeRawBufferPointer(start: base + header, count: length), length: total)
    }

    /// A frame's echo is the frame itself.
    @inlinable
    public static var echoesRequestsVerbatim: Bool { true }

    /// The run of whole frames at the start of `bytes` (FrameScanner's scan).
    @inlinable
    public func scanWholeRequests(_ bytes: UnsafeRawBufferPointer) -> WholeRequests {
        FrameScanner(format: frame, maxMessageBytes: maxMessageBytes).scanWholeFrames(bytes)
    }
}
