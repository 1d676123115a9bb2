// MessageEncoder: the other half of a wire format's seam. A decoder finds a
// format's requests; an encoder frames its replies: what `Connection.send`
// writes before a payload (a length field, RESP's "$5\r\n", a netstring's
// "5:") and after it (a line feed, "\r\n", ","). Keel copies the payload
// once, between the two, straight into the connection's output.
//
// Why a header and a trailer and not "encode this payload": the payload is
// copied where it goes (the loop's staging, or the connection's ring) with
// no intermediate buffer, and the framing around it is small: a header of at
// most `maxHeaderBytes`, written in place, and a constant trailer of up to
// eight bytes, read once when the loop starts. A format whose replies are
// not a payload in a frame (RESP's typed replies, say) leaves `send` to
// frame a bulk string and gives its handlers a writer of their own, which
// writes through `Connection.write` (see RESPReplies).

/// Frames the replies of one wire format: a header before each payload and
/// a constant trailer after it.
public protocol MessageEncoder: Sendable {
    /// The longest payload a reply can carry; a longer send is refused with
    /// `.tooLarge` (a 2-byte length field cannot announce 70,000 bytes).
    var maxPayloadBytes: Int { get }

    /// The most bytes `writeHeader` writes (at most 32); 0 when replies have
    /// no header, and `writeHeader` is then never called.
    var maxHeaderBytes: Int { get }

    /// Writes what goes before a payload of `length` bytes (at most
    /// `maxPayloadBytes`) at `destination`, which has room for
    /// `maxHeaderBytes`; returns how many bytes it wrote.
    func writeHeader(payloadLength length: Int, to destination: UnsafeMutableRawPointer) -> Int

    /// What goes after every payload.
    var trailer: ReplyTrailer { get }
}

extension MessageEncoder {
    /// No header.
    public var maxHeaderBytes: Int { 0 }

    /// Never called without a header.
    public func writeHeader(payloadLength length: Int, to destination: UnsafeMutableRawPointer) -> Int { 0 }

    /// No trailer.
    public var trailer: ReplyTrailer { ReplyTrailer() }

    /// Any length.
    public var maxPayloadBytes: Int { Int.max }
}

/// The constant bytes after every reply payload: up to eight, e.g. "\n".
@frozen
public struct ReplyTrailer: Sendable, Equatable {
    /// The bytes, in memory order (the first in the lowest byte).
    public let bytes: UInt64
    /// How many of them there are (0...8).
    public let count: Int

    /// No trailer.
    @inlinable
    public init() {
        bytes = 0
        count = 0
    }

    /// The trailer `text` (at most eight bytes).
    @inlinable
    public init(_ text: StaticString) {
        precondition(text.utf8CodeUnitCount <= 8, "a trailer holds at most eight bytes")
        var bytes: UInt64 = 0
        for index in 0..<text.utf8CodeUnitCount {
            bytes |= UInt64(text.utf8Start[index]) << UInt64(index * 8)
        }
        self.bytes = bytes
        count = text.utf8CodeUnitCount
    }

    /// Calls `body` with the trailer's bytes.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        var copy = bytes.littleEndian
        return withUnsafeBytes(of: &copy) { body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }
}

/// Replies as their handlers write them, with no framing added (formats
/// whose handlers frame every reply themselves through `Connection.write`).
public struct UnframedEncoder: MessageEncoder {
    /// No framing.
    @inlinable
    public init() {}
}
