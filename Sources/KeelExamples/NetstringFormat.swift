// NetstringFormat: an application's own wire format on Keel's seam, as the
// README shows it: netstrings ("5:hello,"), each request a length in decimal,
// a colon, that many bytes and a comma. It shows the whole contract: a
// borrowed request, "need more" with a real bound (so a long body is not
// decoded again on every read), violations with a reason, an error reply,
// and the limit checked before the body is buffered.

import Keel

/// Netstrings: `<length>:<bytes>,`, e.g. `5:hello,`.
public struct NetstringFormat: WireFormat {
    /// The longest body accepted.
    public let maxBodyBytes: Int

    /// Netstrings with bodies of at most `maxBodyBytes`.
    public init(maxBodyBytes: Int = 1 << 20) {
        self.maxBodyBytes = maxBodyBytes
    }

    /// A decoder per loop (it keeps no state, so it is the format itself).
    public func makeDecoder() -> NetstringDecoder {
        NetstringDecoder(maxBodyBytes: maxBodyBytes)
    }
}

/// Finds netstrings; a request is the body, borrowed.
public struct NetstringDecoder: MessageDecoder {
    let maxBodyBytes: Int

    /// The longest length prefix, colon, body and comma.
    public var maxRequestBytes: Int { 20 + 1 + maxBodyBytes + 1 }

    /// Replies are written as given (the handler frames them with `reply`).
    public var replyFraming: ReplyFraming { .none }

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

    /// Replies with the body reversed, framed as a netstring.
    public mutating func messageReceived(_ body: UnsafeRawBufferPointer, on connection: Connection) {
        var reply = Array("\(body.count):".utf8)
        reply += body.reversed()
        reply.append(UInt8(ascii: ","))
        connection.write(reply)
    }
}
