// The reply side of the wire seam: each built-in encoder's header and
// trailer, for lengths at the edges of what its header can say.

import KeelTestSupport
import Testing

@testable import KeelWire

@Suite struct MessageEncoderTests {
    /// The framing an encoder puts around a payload of `length` bytes.
    func framing(_ encoder: some MessageEncoder, length: Int) -> (header: [UInt8], trailer: [UInt8]) {
        var header = [UInt8](repeating: 0, count: encoder.maxHeaderBytes)
        let count =
            encoder.maxHeaderBytes > 0
            ? header.withUnsafeMutableBytes { encoder.writeHeader(payloadLength: length, to: $0.baseAddress!) } : 0
        return (Array(header[..<count]), encoder.trailer.withBytes { Array($0) })
    }

    @Test func lengthPrefixRepliesCarryTheFramesLengthField() {
        for frame in FrameFormat.all {
            let encoder = LengthPrefixEncoder(frame: frame)
            #expect(UInt64(encoder.maxPayloadBytes) == min(frame.largestLength, UInt64(Int.max)))
            for length in [0, 1, 255, Int(min(frame.largestLength, 70_000))] {
                let (header, trailer) = framing(encoder, length: length)
                var expected = [UInt8](repeating: 0, count: frame.headerBytes)
                expected.withUnsafeMutableBytes { frame.encodeLength(length, into: $0.baseAddress!) }
                #expect(header == expected && trailer.isEmpty, "\(frame) \(length)")
                #expect(header.withUnsafeBytes { frame.decodeLength($0.baseAddress!) } == UInt64(length))
            }
        }
    }

    @Test func linesEndWithALineFeed() {
        let (header, trailer) = framing(LineEncoder(), length: 5)
        #expect(header.isEmpty && trailer == [0x0A])
        #expect(LineEncoder().maxHeaderBytes == 0 && LineEncoder().maxPayloadBytes == Int.max)
    }

    @Test func respSendsABulkString() {
        for length in [0, 9, 10, 1 << 29] {
            let (header, trailer) = framing(RESPBulkStringEncoder(), length: length)
            #expect(header == Array("$\(length)\r\n".utf8) && trailer == Array("\r\n".utf8))
        }
    }

    @Test func unframedRepliesAreWrittenAsTheyAre() {
        let (header, trailer) = framing(UnframedEncoder(), length: 100)
        #expect(header.isEmpty && trailer.isEmpty)
    }

    @Test func aTrailerHoldsUpToEightBytesInOrder() {
        #expect(ReplyTrailer().withBytes { Array($0) } == [])
        #expect(ReplyTrailer("abcdefgh").withBytes { Array($0) } == Array("abcdefgh".utf8))
        #expect(ReplyTrailer("\r\n").count == 2)
    }
}
