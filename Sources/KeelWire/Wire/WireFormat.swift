// WireFormat: the seam between bytes on a connection and the requests a
// handler serves. The event loop is generic over it (as over its backend and
// handler) and is specialised for each format it runs, so decoding is a direct
// call with nothing allocated or dispatched per request.
//
// A format is a Sendable description (limits, options); each loop makes its
// own decoder from it, which may keep scratch memory (RESP keeps its argument
// table there) because only that loop's thread uses it.
//
// The contract of `decode`: it looks at the bytes buffered for a connection,
// from the start of the next request, and answers one of four things:
// - `.request(r, length)`: the first `length` bytes are one whole request;
//   `r` borrows from `bytes` (and from the decoder's scratch) and is valid
//   only until the handler call it is passed to returns;
// - `.skip(length)`: the first `length` bytes hold no request (RESP's empty
//   lines and `*0`) and are dropped;
// - `.needMore(atLeast:)`: the bytes begin a valid request that is not
//   complete; the request needs at least `atLeast` bytes in all (more than
//   `bytes.count`). A good lower bound lets the loop wait for a large body
//   without decoding again on every read; `bytes.count + 1` means "unknown".
//   A bound above `maxRequestBytes` is refused before anything is buffered;
// - `.violation(v)`: the bytes break the protocol. The connection gets the
//   format's error reply, if it has one, and is closed gracefully; nothing
//   else is affected.

/// How to find requests in a byte stream and how replies are framed: the
/// description a server is configured with. Each event loop makes its own
/// decoder and encoder from it.
public protocol WireFormat: Sendable {
    /// The decoder each loop runs.
    associatedtype Decoder: MessageDecoder
    /// How `Connection.send(_:)` frames replies (MessageEncoder.swift).
    associatedtype Encoder: MessageEncoder = UnframedEncoder

    /// A decoder for one loop (called once per loop, at start-up).
    func makeDecoder() -> Decoder

    /// The reply framing for one loop (called once per loop, at start-up).
    func makeEncoder() -> Encoder
}

extension WireFormat where Encoder == UnframedEncoder {
    /// Replies are written as their handlers frame them.
    public func makeEncoder() -> UnframedEncoder { UnframedEncoder() }
}

/// Finds requests in the bytes of one connection at a time; owned by one loop.
public protocol MessageDecoder {
    /// What a handler receives: a borrowed view, valid during the handler call.
    associatedtype Request

    /// The most bytes one request may take. A request announcing more, or
    /// still incomplete with more buffered, is refused before it is buffered.
    var maxRequestBytes: Int { get }

    /// Looks for one request at the start of `bytes` (see the file header).
    mutating func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeStep<Request>

    /// The bytes written to the connection before it closes for `violation`;
    /// nil closes without a reply. Called only on that cold path.
    func errorReply(for violation: ProtocolViolation) -> [UInt8]?

    /// Whether the connection whose bytes are decoded next is restricted
    /// (its handler's call, `Connection.restrictRequests`: a client not yet
    /// authenticated): a decoder may then refuse requests it would take
    /// from others, so such a client cannot make the server buffer much.
    /// Set by the loop before it decodes a restricted connection's bytes
    /// and reset after. Ignored by default.
    var restrictsRequests: Bool { get set }

    /// Whether `restrictsRequests` means anything to this decoder. False by
    /// default, and then the loop never looks at restrictions: a check per
    /// read cost the handler path four instructions a message, measured.
    static var canRestrictRequests: Bool { get }

    /// Whether a request's reply, for a handler that echoes, is exactly the
    /// request's own bytes, so whole requests can be written back in place
    /// (the echo fast path). Requires `scanWholeRequests`. Default false.
    static var echoesRequestsVerbatim: Bool { get }

    /// The run of whole requests at the start of `bytes`, for the echo fast
    /// path: where it ends, how many requests it holds, and whether what
    /// follows is a violation (the fast path then steps aside). Only called
    /// when `echoesRequestsVerbatim` is true.
    func scanWholeRequests(_ bytes: UnsafeRawBufferPointer) -> WholeRequests
}

extension MessageDecoder {
    /// No error reply: a violation closes the connection.
    public func errorReply(for violation: ProtocolViolation) -> [UInt8]? { nil }

    /// No restrictions: every connection gets the same limits.
    public static var canRestrictRequests: Bool { false }

    /// Ignored: every connection gets the same limits.
    public var restrictsRequests: Bool {
        get { false }
        set {}
    }

    /// False: every request goes through the handler.
    public static var echoesRequestsVerbatim: Bool { false }

    /// Never called when `echoesRequestsVerbatim` is false.
    public func scanWholeRequests(_ bytes: UnsafeRawBufferPointer) -> WholeRequests {
        preconditionFailure("\(Self.self) does not echo requests verbatim")
    }
}

/// What a decoder found at the start of the bytes it was given.
@frozen
public enum DecodeStep<Request> {
    /// The first `length` bytes are one whole request.
    case request(Request, length: Int)
    /// The first `length` bytes hold no request and are dropped.
    case skip(length: Int)
    /// A valid but incomplete request that needs at least `atLeast` bytes in all.
    case needMore(atLeast: Int)
    /// The bytes break the protocol.
    case violation(ProtocolViolation)
}

/// A run of whole requests (see `MessageDecoder.scanWholeRequests`).
@frozen
public struct WholeRequests: Equatable, Sendable {
    /// Where the whole requests end (the start of what follows them).
    public let end: Int
    /// How many requests there are.
    public let count: Int
    /// Whether the bytes at `end` break the protocol.
    public let violationFollows: Bool

    /// A run of `count` requests ending at `end`.
    @inlinable
    public init(end: Int, count: Int, violationFollows: Bool) {
        self.end = end
        self.count = count
        self.violationFollows = violationFollows
    }
}

/// Why a connection's bytes break its protocol.
public struct ProtocolViolation: Sendable, Equatable, CustomStringConvertible {
    /// The reason, in the words of the format's error reply; "%c" stands for
    /// `offendingByte` (e.g. RESP's "expected '$', got '%c'").
    public let reason: StaticString
    /// The byte the reason names, if any.
    public let offendingByte: UInt8?
    /// For a message announcing more than the limit: how much it announced.
    public let announcedBytes: UInt64?

    /// A violation for `reason`.
    @inlinable
    public init(_ reason: StaticString, offendingByte: UInt8? = nil, announcedBytes: UInt64? = nil) {
        self.reason = reason
        self.offendingByte = offendingByte
        self.announcedBytes = announcedBytes
    }

    /// A message announced more than the largest request allowed.
    @inlinable
    public static func oversize(announced: UInt64) -> ProtocolViolation {
        ProtocolViolation("message larger than the maximum", announcedBytes: announced)
    }

    /// More bytes than the largest request allowed arrived without a complete request.
    public static let requestTooLarge = ProtocolViolation("request larger than the maximum")

    /// Whether this is a size limit (closed as `oversizeMessage`) rather
    /// than malformed bytes (`protocolError`).
    public var isOversize: Bool {
        announcedBytes != nil || reason.utf8Start == Self.requestTooLarge.reason.utf8Start
    }

    /// The reason with the offending byte filled in.
    public var description: String {
        let text = "\(reason)"
        guard let byte = offendingByte else { return text }
        return text.replacing("%c", with: String(decoding: [byte], as: UTF8.self))
    }

    /// Two violations are the same if they read the same and announce the same size.
    public static func == (lhs: ProtocolViolation, rhs: ProtocolViolation) -> Bool {
        lhs.description == rhs.description && lhs.announcedBytes == rhs.announcedBytes
    }
}
