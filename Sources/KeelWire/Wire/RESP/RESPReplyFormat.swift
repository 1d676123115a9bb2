// RESPReplyFormat: Redis's replies (RESP2) as a client reads them, for
// keel-bench and for tests that play the client. It is a WireFormat like
// any other, so the same MessageAssembler splits a client's reads into
// replies (in place, a partial reply waiting in a ring) as splits a server's
// reads into requests.
//
// Replies are checked strictly, as a client that must notice a corrupt
// server should: every line ends in CRLF, integers and lengths follow
// Redis's rules (RESPInteger), a bulk's payload is followed by CRLF, and an
// unknown type byte is a violation. Nested arrays are walked with a count of
// the elements still due, not by recursion, so no depth of nesting can
// exhaust the stack; an array announcing more elements than could fit in
// the reply limit (three bytes each at least) is refused at once.

/// Redis's reply protocol, RESP2, read by a client.
public struct RESPReplyFormat: WireFormat, Hashable {
    /// Longest bulk string; longer is a violation. Default 512 MiB (Redis's limit).
    public var maxBulkBytes: Int
    /// Longest a simple string, error, integer or length line may run
    /// without its CRLF. Default 64 KiB.
    public var maxLineBytes: Int
    /// Most bytes one reply (an array with all its elements) may take.
    /// Default 1 GiB.
    public var maxReplyBytes: Int

    /// - Parameters: see the properties.
    public init(maxBulkBytes: Int = 512 << 20, maxLineBytes: Int = 64 << 10, maxReplyBytes: Int = 1 << 30) {
        precondition(maxBulkBytes >= 0 && maxLineBytes >= 16 && maxReplyBytes >= 16)
        self.maxBulkBytes = maxBulkBytes
        self.maxLineBytes = maxLineBytes
        self.maxReplyBytes = maxReplyBytes
    }

    /// A decoder (it keeps no scratch; one per reader all the same).
    public func makeDecoder() -> RESPReplyDecoder {
        RESPReplyDecoder(format: self)
    }
}

/// Finds whole RESP2 replies at the start of a client's buffered bytes.
public struct RESPReplyDecoder: MessageDecoder {
    @usableFromInline let format: RESPReplyFormat

    @usableFromInline
    init(format: RESPReplyFormat) {
        self.format = format
    }

    /// The format's limit for one reply.
    @inlinable
    public var maxRequestBytes: Int { format.maxReplyBytes }

    /// The whole reply at the start of `bytes`, nested arrays included.
    @inlinable
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeStep<RESPReply> {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return .needMore(atLeast: 3) }
        let count = bytes.count
        var position = 0
        // Elements still due: the reply itself, then each array's elements.
        var remaining = 1
        var first = RESPReply(kind: .null, bytes: UnsafeRawBufferPointer(start: base, count: 0))
        var firstHeaderEnd = 0
        while remaining > 0 {
            // Each element still due takes three bytes at least ("+\r\n").
            guard position < count else { return .needMore(atLeast: position &+ remaining &* 3) }
            guard let lineEnd = findLineEnd(base, lineStart: position, count: count) else {
                return count &- position > format.maxLineBytes
                    ? .violation(ProtocolViolation("reply line longer than the maximum"))
                    : .needMore(atLeast: max(count &+ 1, position &+ remaining &* 3))
            }
            guard lineEnd &+ 1 < count else { return .needMore(atLeast: lineEnd &+ 2) }
            guard base.load(fromByteOffset: lineEnd &+ 1, as: UInt8.self) == 0x0A else {
                return .violation(ProtocolViolation("expected LF after CR in a reply line"))
            }
            let marker = base.load(fromByteOffset: position, as: UInt8.self)
            let text = UnsafeRawBufferPointer(start: base + position + 1, count: lineEnd &- position &- 1)
            var element: RESPReply
            var next = lineEnd &+ 2
            switch marker {
            case 0x2B:  // "+"
                element = RESPReply(kind: .simpleString, bytes: text)
            case 0x2D:  // "-"
                element = RESPReply(kind: .error, bytes: text)
            case 0x3A:  // ":"
                guard let value = RESPInteger.parse(text) else {
                    return .violation(ProtocolViolation("invalid integer reply"))
                }
                element = RESPReply(kind: .integer, bytes: text, value: value)
            case 0x24:  // "$"
                guard let length = RESPInteger.parse(text), length >= -1, length <= Int64(format.maxBulkBytes) else {
                    return .violation(ProtocolViolation("invalid bulk length in a reply"))
                }
                if length == -1 {
                    element = RESPReply(kind: .null, bytes: UnsafeRawBufferPointer(start: base + next, count: 0))
                    break
                }
                let end = next &+ Int(length)
                guard end &+ 2 <= count else { return .needMore(atLeast: end &+ 2 &+ (remaining &- 1) &* 3) }
                guard base.load(fromByteOffset: end, as: UInt8.self) == 0x0D,
                    base.load(fromByteOffset: end &+ 1, as: UInt8.self) == 0x0A
                else { return .violation(ProtocolViolation("bulk string in a reply not ended by CRLF")) }
                element = RESPReply(
                    kind: .bulkString, bytes: UnsafeRawBufferPointer(start: base + next, count: Int(length)))
                next = end &+ 2
            case 0x2A:  // "*"
                guard let elements = RESPInteger.parse(text), elements >= -1,
                    elements <= Int64(format.maxReplyBytes / 3)
                else { return .violation(ProtocolViolation("invalid multibulk length in a reply")) }
                if elements == -1 {
                    element = RESPReply(kind: .nullArray, bytes: UnsafeRawBufferPointer(start: base + next, count: 0))
                    break
                }
                remaining &+= Int(elements)
                guard next &+ remaining &* 3 <= format.maxReplyBytes else {
                    return .violation(.oversize(announced: UInt64(next &+ remaining &* 3)))
                }
                element = RESPReply(kind: .array, bytes: text, value: elements)
            default:
                return .violation(ProtocolViolation("unknown reply type '%c'", offendingByte: marker))
            }
            if position == 0 {
                first = element
                firstHeaderEnd = next
            }
            position = next
            remaining &-= 1
        }
        if first.kind == .array {
            let elements = UnsafeRawBufferPointer(start: base + firstHeaderEnd, count: position &- firstHeaderEnd)
            first = RESPReply(kind: .array, bytes: elements, value: first.value)
        }
        return .request(first, length: position)
    }

    /// The offset of the "\r" ending the line at `lineStart`, looked for
    /// within `maxLineBytes` of it, or nil.
    @inlinable
    func findLineEnd(_ base: UnsafeRawPointer, lineStart: Int, count: Int) -> Int? {
        var position = lineStart
        let end = min(count, lineStart &+ format.maxLineBytes &+ 1)
        while position < end {
            if base.load(fromByteOffset: position, as: UInt8.self) == 0x0D { return position }
            position &+= 1
        }
        return nil
    }

    /// Calls `body` with each element of `array` (a reply this decoder
    /// delivered), in order; nested arrays come as array replies.
    public func forEachElement(of array: RESPReply, _ body: (RESPReply) -> Void) {
        precondition(array.kind == .array, "forEachElement(of:) needs an array reply")
        var walker = self
        var offset = 0
        for _ in 0..<array.value {
            let rest = UnsafeRawBufferPointer(rebasing: array.bytes[offset...])
            guard case .request(let element, let length) = walker.decode(rest) else {
                preconditionFailure("an array reply's elements are whole by construction")
            }
            body(element)
            offset += length
        }
    }
}
