// NetstringFormat: an application's own wire format on Keel's seam, as the
// README shows it: netstrings ("5:hello,"), each request a length in decimal,
// a colon, that many bytes and a comma. It shows the whole contract: a
// borrowed request, "need more" with a real bound (so a long body is not
// decoded again on every read), violations with a reason, an error reply,
// the limit checked before the body is buffered, and an encoder, so that a
// handler's `connection.send(body)` writes a netstring.

import Keel

/// Netstrings: `<length>:<bytes>,`, e.g. `5:hello,`.
public struct NetstringFormat: WireFormat {
    /// The longest body accepted.
    public let maxBodyBytes: Int

    /// Netstrings with bodies of at most `maxBodyBytes`.
    public init(maxBodyBytes: Int = 1 << 20) {
        self.maxBodyBytes = maxBodyBytes
    }

    /// A decoder per loop.
    public func makeDecoder() -> NetstringDecoder {
        NetstringDecoder(maxBodyBytes: maxBodyBytes)
    }

    /// Replies are netstrings too.
    public func makeEncoder() -> NetstringEncoder {
        NetstringEncoder()
    }
}

/// Frames a reply as a netstring: its length in decimal and a colon before
/// it, a comma after.
public struct NetstringEncoder: MessageEncoder {
    /// Up to 20 digits and the colon.
    public var maxHeaderBytes: Int { 21 }

    /// `<length>:`.
    public func writeHeader(payloadLength length: Int, to destination: UnsafeMutableRawPointer) -> Int {
        let digits = Array(String(length).utf8)
        destination.copyMemory(from: digits, byteCount: digits.count)
        destination.storeBytes(of: UInt8(ascii: ":"), toByteOffset: digits.count, as: UInt8.self)
        return digits.count + 1
    }

    /// `,`.
    public var trailer: ReplyTrailer { ReplyTrailer(",") }
}

/// Finds netstrings; a request is the body, borrowed.
public struct NetstringDecoder: MessageDecoder {
    let maxBodyBytes: Int

    /// The longest length prefix, colon, body and comma.
    public var maxRequestBytes: Int { 20 + 1 + maxBodyBytes + 1 }

    /// The netstring at the start of `bytes`.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeStep<UnsafeRawBufferPointer> {
        var length = 0
        var index = 0
        while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
            let digit = Int(bytes[index]) - Int(UInt8(ascii: "0"))
            guard digit >= 0 && digit <= 9 && index < 20 else { return .violation(ProtocolViolation("bad length")) }
            length = length * 10 + digit
            guard length <= maxBodyBytes else { return .violation(.oversize(announced: UInt64(length))) }
            index += 1
        }
        guard index < bytes.count else { return .needMore(atLeast: bytes.count + 1) }
        guard index > 0 else { return .violation(ProtocolViolation("bad length")) }
        let end = index + 1 + length  // where the comma must be
        guard end < bytes.count else { return .needMore(atLeast: end + 1) }
        guard bytes[end] == UInt8(ascii: ",") else { return .violation(ProtocolViolation("missing comma")) }
        return .request(UnsafeRawBufferPointer(rebasing: bytes[(index + 1)..<end]), length: end + 1)
    }

    /// "3:ERR," before the connection closes.
    public func errorReply(for violation: ProtocolViolation) -> [UInt8]? {
        Array("3:ERR,".utf8)
    }
}

/// Answers each netstring with the same netstring, reversed.
public struct ReversingHandler: ConnectionHandler, Sendable {
    /// A handler.
    public init() {}

    /// Replies with the body reversed (`send` frames it as a netstring).
    public mutating func messageReceived(_ body: UnsafeRawBufferPointer, on connection: Connection) {
        connection.send(Array(body.reversed()))
    }
}
