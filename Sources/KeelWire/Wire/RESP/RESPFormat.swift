// RESPFormat: Redis's request protocol (RESP2) as redis-server 7 reads it:
// multibulk arrays ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") and inline commands
// ("GET k\r\n", with Redis's quoting), pipelined, split at any byte. Empty
// inline lines and arrays of zero or negative count are skipped. Errors are
// answered with redis-server's own texts ("-ERR Protocol error: ...") and the
// connection is then closed gracefully. Every limit is checked before the
// bytes it concerns are buffered: the argument count, each bulk's length,
// and how far a line may run without its end (64 KiB, as in Redis).

/// Redis's request protocol, RESP2.
public struct RESPFormat: WireFormat, Hashable {
    /// Most arguments in one request; more is "invalid multibulk length".
    /// Default 2,147,483,647 (redis-server 7's). The argument table grows with
    /// the arguments that arrive, never from the announced count, and a
    /// request is refused as soon as the bytes it must take (six at least per
    /// argument) exceed `maxRequestBytes`.
    public var maxArguments: Int
    /// Longest bulk argument; longer is "invalid bulk length". Default 512 MiB
    /// (redis-server's proto-max-bulk-len).
    public var maxBulkBytes: Int
    /// Longest an inline request, or an array's or bulk's length line, may
    /// run without its line end. Default 64 KiB (redis-server's).
    public var maxLineBytes: Int
    /// Most bytes one request may take in all; a client exceeding it is
    /// closed without a reply, as redis-server does at its query-buffer
    /// limit. Default 1 GiB.
    public var maxRequestBytes: Int

    /// - Parameters: see the properties; the defaults are redis-server's.
    public init(
        maxArguments: Int = Int(Int32.max), maxBulkBytes: Int = 512 << 20, maxLineBytes: Int = 64 << 10,
        maxRequestBytes: Int = 1 << 30
    ) {
        precondition(maxArguments >= 1 && maxBulkBytes >= 0 && maxLineBytes >= 16 && maxRequestBytes >= 16)
        self.maxArguments = maxArguments
        self.maxBulkBytes = maxBulkBytes
        self.maxLineBytes = maxLineBytes
        self.maxRequestBytes = maxRequestBytes
    }

    /// A decoder for one loop, with its own argument table.
    public func makeDecoder() -> RESPDecoder {
        RESPDecoder(format: self)
    }

    /// `Connection.send` writes a bulk string (typed replies: RESPReplies).
    public func makeEncoder() -> RESPBulkStringEncoder {
        RESPBulkStringEncoder()
    }
}

/// Frames a reply as a RESP bulk string: `$<length>\r\n<bytes>\r\n`.
public struct RESPBulkStringEncoder: MessageEncoder {
    /// Bulk strings.
    @inlinable
    public init() {}

    /// `$`, up to 19 digits, CRLF.
    @inlinable
    public var maxHeaderBytes: Int { RESPEncoding.maxHeaderBytes }

    /// `$<length>\r\n`.
    @inlinable
    public func writeHeader(payloadLength length: Int, to destination: UnsafeMutableRawPointer) -> Int {
        RESPEncoding.writeHeader(0x24, length, to: destination)
    }

    /// CRLF.
    @inlinable
    public var trailer: ReplyTrailer { ReplyTrailer("\r\n") }
}

/// Decodes RESP requests; owns the scratch its commands point into (one loop only).
public struct RESPDecoder: MessageDecoder {
    @usableFromInline let format: RESPFormat
    @usableFromInline let scratch: RESPScratch
    /// A client not yet authenticated: at most 10 arguments and bulks of
    /// at most 16 KiB, as redis-server takes from such a client.
    public var restrictsRequests = false
    /// RESP restricts requests (see `restrictsRequests`).
    public static var canRestrictRequests: Bool { true }
    /// Most arguments a restricted client's request may have (redis-server's).
    public static let restrictedArguments: Int64 = 10
    /// Longest bulk a restricted client may send (redis-server's).
    public static let restrictedBulkBytes: Int64 = 16 << 10

    @usableFromInline
    init(format: RESPFormat) {
        self.format = format
        scratch = RESPScratch(inlineBytes: format.maxLineBytes)
    }

    /// The format's limit for one request.
    @inlinable
    public var maxRequestBytes: Int { format.maxRequestBytes }

    /// The request at the start of `bytes` (see WireFormat.swift for the contract).
    @inlinable
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeStep<RESPCommand> {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .needMore(atLeast: 1) }
        if base.load(as: UInt8.self) == 0x2A {  // "*"
            return decodeMultibulk(base, count: bytes.count)
        }
        return decodeInline(base, count: bytes.count)
    }

    /// "-ERR Protocol error: <reason>\r\n", the offending byte written as
    /// it came (redis-server's %c), except that CR and LF become spaces so
    /// the reply stays one line (as redis-server maps them). A request over
    /// the total limit gets one too (redis-server closes such a client
    /// silently; a refused client should learn why).
    public func errorReply(for violation: ProtocolViolation) -> [UInt8]? {
        var reply = Array("-ERR Protocol error: ".utf8)
        let reason = UnsafeBufferPointer(start: violation.reason.utf8Start, count: violation.reason.utf8CodeUnitCount)
        var index = 0
        while index < reason.count {
            if reason[index] == 0x25, index + 1 < reason.count, reason[index + 1] == 0x63,
                let byte = violation.offendingByte
            {  // "%c"
                reply.append(byte)
                index += 2
            } else {
                reply.append(reason[index])
                index += 1
            }
        }
        for position in 21..<reply.count where reply[position] == 0x0D || reply[position] == 0x0A {
            reply[position] = 0x20
        }
        return reply + [0x0D, 0x0A]
    }

    // MARK: multibulk

    @inlinable
    mutating func decodeMultibulk(_ base: UnsafeRawPointer, count: Int) -> DecodeStep<RESPCommand> {
        guard let countLineEnd = findLineEnd(base, lineStart: 0, count: count) else {
            return count > format.maxLineBytes
                ? .violation(ProtocolViolation("too big mbulk count string")) : .needMore(atLeast: count &+ 1)
        }
        // The line must be followed by its "\n" (not checked, as in Redis).
        guard countLineEnd &+ 1 < count else { return .needMore(atLeast: countLineEnd &+ 2) }
        guard let arguments = RESPInteger.parse(base + 1, count: countLineEnd &- 1),
            arguments <= Int64(format.maxArguments)
        else { return .violation(ProtocolViolation("invalid multibulk length")) }
        if restrictsRequests && arguments > Self.restrictedArguments {
            return .violation(ProtocolViolation("unauthenticated multibulk length"))
        }
        var position = countLineEnd &+ 2
        if arguments <= 0 { return .skip(length: position) }
        let total = Int(arguments)
        var index = 0
        while index < total {
            // Each argument still to come takes at least "$0\r\n\r\n".
            let minimumRest = (total &- index) &* 6
            guard position < count else { return .needMore(atLeast: position &+ minimumRest) }
            guard let lineEnd = findLineEnd(base, lineStart: position, count: count) else {
                return count &- position > format.maxLineBytes
                    ? .violation(ProtocolViolation("too big bulk count string"))
                    : .needMore(atLeast: max(count &+ 1, position &+ minimumRest))
            }
            guard lineEnd &+ 1 < count else { return .needMore(atLeast: lineEnd &+ 2) }
            let marker = base.load(fromByteOffset: position, as: UInt8.self)
            guard marker == 0x24 else {  // "$"
                return .violation(ProtocolViolation("expected '$', got '%c'", offendingByte: marker))
            }
            guard let length = RESPInteger.parse(base + position + 1, count: lineEnd &- position &- 1),
                length >= 0, length <= Int64(format.maxBulkBytes)
            else { return .violation(ProtocolViolation("invalid bulk length")) }
            if restrictsRequests && length > Self.restrictedBulkBytes {
                return .violation(ProtocolViolation("unauthenticated bulk length"))
            }
            let start = lineEnd &+ 2
            let end = start &+ Int(length)
            // The bulk's bytes and the two that end it (skipped unread, as in Redis).
            guard end &+ 2 <= count else {
                return .needMore(atLeast: end &+ 2 &+ (total &- index &- 1) &* 6)
            }
            scratch.setArgument(index, start: base + start, count: Int(length))
            position = end &+ 2
            index &+= 1
        }
        return .request(
            RESPCommand(arguments: scratch.arguments, count: total, isInline: false), length: position)
    }

    /// The offset of the "\r" ending the line that starts at `lineStart`,
    /// looked for only within `maxLineBytes` of it, or nil. (redis-server
    /// looks through whatever it has buffered, so a line over the limit is
    /// accepted or refused depending on how the reads fell; here the answer
    /// is the same however the bytes are split.) A NUL before the end hides
    /// it, as it does from redis-server's strchr: the request then waits for
    /// more bytes until the line is over the limit.
    @inlinable
    func findLineEnd(_ base: UnsafeRawPointer, lineStart: Int, count: Int) -> Int? {
        var position = lineStart
        let end = min(count, lineStart &+ format.maxLineBytes &+ 1)
        // Length lines are short: a plain loop beats a memchr call here.
        while position < end {
            let byte = base.load(fromByteOffset: position, as: UInt8.self)
            if byte <= 0x0D {
                if byte == 0x0D { return position }
                if byte == 0 { return nil }
            }
            position &+= 1
        }
        return nil
    }

    // MARK: inline

    @usableFromInline
    mutating func decodeInline(_ base: UnsafeRawPointer, count: Int) -> DecodeStep<RESPCommand> {
        // The line end is looked for within the limit only (see findLineEnd):
        // a line of up to maxLineBytes, then CR LF or LF (the CR is the line
        // end's, not the line's). A NUL hides the end, as from redis-server's
        // strchr: such a line waits until it is over the limit.
        let limit = format.maxLineBytes
        let window = min(count, limit &+ 2)
        var newline = 0
        while newline < window {
            let byte = base.load(fromByteOffset: newline, as: UInt8.self)
            if byte == 0x0A { break }
            if byte == 0 {
                return count > limit
                    ? .violation(ProtocolViolation("too big inline request")) : .needMore(atLeast: count &+ 1)
            }
            newline &+= 1
        }
        guard newline < window else {
            // No end yet: too long once more than the limit has come, unless
            // the one byte past it is a CR that may begin the line's end.
            let overLimit =
                count > limit &+ 1 || (count == limit &+ 1 && base.load(fromByteOffset: limit, as: UInt8.self) != 0x0D)
            return overLimit ? .violation(ProtocolViolation("too big inline request")) : .needMore(atLeast: count &+ 1)
        }
        var lineEnd = newline
        if lineEnd > 0 && base.load(fromByteOffset: lineEnd - 1, as: UInt8.self) == 0x0D { lineEnd -= 1 }
        guard lineEnd <= limit else { return .violation(ProtocolViolation("too big inline request")) }
        guard let arguments = scratch.splitInline(UnsafeRawBufferPointer(start: base, count: lineEnd)) else {
            return .violation(ProtocolViolation("unbalanced quotes in request"))
        }
        if arguments == 0 { return .skip(length: newline + 1) }
        return .request(
            RESPCommand(arguments: scratch.arguments, count: arguments, isInline: true), length: newline + 1)
    }
}
