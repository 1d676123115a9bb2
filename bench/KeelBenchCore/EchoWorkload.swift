// The echo workloads: a distinct payload per message (PayloadSource), framed
// with a length prefix or ended by a line feed; each reply must be the same
// payload, byte for byte.

import Keel

/// Length-prefixed messages, echoed (Keel's default format).
struct LengthEchoWorkload: BenchWorkload {
    let payloads: PayloadSource
    let frame: FrameFormat

    func makeDecoder() -> LengthPrefixDecoder {
        LengthPrefixFormat(frame: frame, maxMessageBytes: payloads.sizes.maximum).makeDecoder()
    }

    @inline(__always)
    func appendRequest(connection: Int, sequence: UInt64, to output: inout RingBuffer, pool: BufferPool) -> UInt64? {
        let payload = payloads.payload(connection: connection, sequence: sequence)
        var header: UInt64 = 0
        withUnsafeMutableBytes(of: &header) { frame.encodeLength(payload.count, into: $0.baseAddress!) }
        let appended =
            withUnsafeBytes(of: &header) {
                output.append(UnsafeRawBufferPointer(rebasing: $0[..<frame.headerBytes]), pool: pool)
            } && output.append(payload, pool: pool)
        return appended ? 0 : nil
    }

    @inline(__always)
    func check(_ reply: UnsafeRawBufferPointer, connection: Int, sequence: UInt64, tag: UInt64) -> ReplyCheck {
        payloads.check(reply, connection: connection, sequence: sequence)
    }
}

/// Lines of printable bytes ended by LF, echoed (`keel --protocol line`).
struct LineEchoWorkload: BenchWorkload {
    let payloads: PayloadSource

    func makeDecoder() -> LineDecoder {
        LineFormat(maxLineBytes: payloads.sizes.maximum).makeDecoder()
    }

    @inline(__always)
    func appendRequest(connection: Int, sequence: UInt64, to output: inout RingBuffer, pool: BufferPool) -> UInt64? {
        var newline: UInt8 = 0x0A
        let appended =
            output.append(payloads.payload(connection: connection, sequence: sequence), pool: pool)
            && withUnsafeBytes(of: &newline) { output.append($0, pool: pool) }
        return appended ? 0 : nil
    }

    @inline(__always)
    func check(_ reply: UnsafeRawBufferPointer, connection: Int, sequence: UInt64, tag: UInt64) -> ReplyCheck {
        payloads.check(reply, connection: connection, sequence: sequence)
    }
}

extension PayloadSource {
    /// An echo's verdict: the reply must be message `sequence` of `connection`.
    @inline(__always)
    func check(_ reply: UnsafeRawBufferPointer, connection: Int, sequence: UInt64) -> ReplyCheck {
        if matches(reply, connection: connection, sequence: sequence) { return .expected(payloadBytes: reply.count) }
        let expected = payload(connection: connection, sequence: sequence).count
        return .mismatch(
            "reply \(sequence + 1) on connection \(connection + 1) differs from the message sent "
                + "(\(reply.count) bytes back, \(expected) sent)")
    }
}
