// LineFormat: one request per line, ended by LF or CRLF (the terminator is
// not part of the request); replies are written with a trailing LF. With it
// the echo server's clients can be `nc` and a terminal. A line longer than
// the limit is refused once that many bytes have arrived without a line end:
// at most the limit plus the terminator is ever buffered.

/// Lines of text (or bytes), ended by LF or CRLF.
public struct LineFormat: WireFormat, Hashable {
    /// The longest line accepted, terminator excluded.
    public let maxLineBytes: Int

    /// - Parameter maxLineBytes: the longest line accepted, terminator excluded.
    public init(maxLineBytes: Int = 1 << 20) {
        precondition(maxLineBytes >= 0, "maxLineBytes must not be negative")
        self.maxLineBytes = maxLineBytes
    }

    /// A decoder for one loop.
    public func makeDecoder() -> LineDecoder {
        LineDecoder(maxLineBytes: maxLineBytes)
    }

    /// Replies end with LF.
    public func makeEncoder() -> LineEncoder {
        LineEncoder()
    }
}

/// Ends each reply with LF.
public struct LineEncoder: MessageEncoder {
    /// Replies ended by LF.
    @inlinable
    public init() {}

    /// A line feed.
    @inlinable
    public var trailer: ReplyTrailer { ReplyTrailer("\n") }
}

/// Finds lines; a request is a line without its terminator.
public struct LineDecoder: MessageDecoder {
    /// The longest line accepted, terminator excluded.
    public let maxLineBytes: Int

    @inlinable
    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// The longest line plus CRLF.
    @inlinable
    public var maxRequestBytes: Int { maxLineBytes + 2 }

    /// The line at the start of `bytes`, without its LF or CRLF.
    @inlinable @inline(__always)
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeStep<UnsafeRawBufferPointer> {
        guard let base = bytes.baseAddress else { return .needMore(atLeast: 1) }
        let window = min(bytes.count, maxRequestBytes)
        guard let end = ByteSearch.firstIndex(of: 0x0A, in: UnsafeRawBufferPointer(start: base, count: window)) else {
            // No line end within the longest line allowed (CR included).
            if bytes.count >= maxRequestBytes { return .violation(ProtocolViolation("line longer than the maximum")) }
            return .needMore(atLeast: bytes.count + 1)
        }
        var length = end
        if length > 0 && base.load(fromByteOffset: length - 1, as: UInt8.self) == 0x0D { length -= 1 }
        guard length <= maxLineBytes else { return .violation(ProtocolViolation("line longer than the maximum")) }
        return .request(UnsafeRawBufferPointer(start: base, count: length), length: end + 1)
    }
}
