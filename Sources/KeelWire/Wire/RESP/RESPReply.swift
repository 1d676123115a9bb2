// RESPReply: one Redis reply as a client sees it, borrowed from the bytes it
// arrived in (valid only while the callback that receives it runs). Arrays
// are delivered whole: their element count and the raw bytes of their
// elements, which `RESPReplyDecoder.elements(of:)` walks without copying.

/// One RESP2 reply, borrowed.
public struct RESPReply {
    /// The reply's type.
    public enum Kind: Sendable, Equatable {
        /// `+text`: `bytes` is the text.
        case simpleString
        /// `-message`: `bytes` is the message (its code first, e.g. "ERR ...").
        case error
        /// `:value`: `integer` is the value.
        case integer
        /// `$length` and that many bytes: `bytes` is the payload.
        case bulkString
        /// `$-1`: the null bulk string (e.g. GET of a missing key).
        case null
        /// `*count`: `count` elements follow; `bytes` holds them, raw.
        case array
        /// `*-1`: the null array.
        case nullArray
    }

    /// The reply's type.
    public let kind: Kind
    /// The text, the payload, or an array's raw elements (see `Kind`).
    public let bytes: UnsafeRawBufferPointer
    /// An integer reply's value; an array's element count; otherwise 0.
    public let value: Int64

    /// A reply of `kind` over `bytes`.
    @inlinable
    public init(kind: Kind, bytes: UnsafeRawBufferPointer, value: Int64 = 0) {
        self.kind = kind
        self.bytes = bytes
        self.value = value
    }

    /// Whether the reply is the simple string `text` (e.g. "OK", "PONG").
    @inlinable
    public func isSimpleString(_ text: StaticString) -> Bool {
        kind == .simpleString
            && bytes.elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A short description, for reports of unexpected replies: its type and
    /// the start of its text or payload.
    public var summary: String {
        let shown = String(decoding: bytes.prefix(80), as: UTF8.self)
        let more = bytes.count > 80 ? "..." : ""
        switch kind {
        case .simpleString: return "simple string \"\(shown)\(more)\""
        case .error: return "error \"\(shown)\(more)\""
        case .integer: return "integer \(value)"
        case .bulkString: return "bulk string of \(bytes.count) bytes \"\(shown)\(more)\""
        case .null: return "null bulk string"
        case .array: return "array of \(value) elements"
        case .nullArray: return "null array"
        }
    }
}
