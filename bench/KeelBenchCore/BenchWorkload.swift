// BenchWorkload: what keel-bench sends and how it judges each reply, for
// one wire format. The load engine is generic over it (and specialised for
// each), so writing a request and checking a reply are direct calls.
//
// A request leaves with a tag (a UInt64 the workload chooses: a key number,
// which command was drawn) that comes back with its reply; replies arrive
// in order, so nothing else is stored per request.

import Keel

/// What one reply turned out to be.
enum ReplyCheck {
    /// As expected; `payloadBytes` of data moved (for MB/s).
    case expected(payloadBytes: Int)
    /// The server answered with an error reply (RESP `-ERR ...`).
    case errorReply(String)
    /// Not what the request must get: wrong bytes, wrong type, a lost value.
    case mismatch(String)
}

/// Requests and the replies they must get, for one wire format.
protocol BenchWorkload {
    associatedtype Decoder: MessageDecoder

    /// Splits the server's bytes into replies.
    func makeDecoder() -> Decoder

    /// Appends request `sequence` of `connection` to `output`; returns its
    /// tag, or nil when the output could not grow.
    mutating func appendRequest(
        connection: Int, sequence: UInt64, to output: inout RingBuffer, pool: BufferPool
    ) -> UInt64?

    /// Judges the reply to the request of `connection` with `sequence` and `tag`.
    mutating func check(_ reply: Decoder.Request, connection: Int, sequence: UInt64, tag: UInt64) -> ReplyCheck

    /// Requests to complete before the warm-up (RESP: writing the keys that
    /// will be read); 0 for none.
    var preloadCount: Int { get }

    /// Appends preload request `index` (0..<preloadCount); returns its tag.
    mutating func appendPreload(_ index: Int, to output: inout RingBuffer, pool: BufferPool) -> UInt64?

    /// Whether `tag` belongs to a preload request.
    func isPreload(_ tag: UInt64) -> Bool
}

extension BenchWorkload {
    var preloadCount: Int { 0 }
    func appendPreload(_ index: Int, to output: inout RingBuffer, pool: BufferPool) -> UInt64? { nil }
    func isPreload(_ tag: UInt64) -> Bool { false }
}
