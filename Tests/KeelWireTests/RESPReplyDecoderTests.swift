// The client side of RESP: replies decoded whole (nested arrays included)
// however the bytes are split, every malformation a corrupt server could
// send caught, and requests written by RESPRequestWriter read back by the
// server's decoder exactly.

import KeelTestSupport
import Testing

@testable import KeelWire

/// A reply, copied out of its borrowed bytes.
struct CopiedReply: Equatable {
    let kind: RESPReply.Kind
    let bytes: [UInt8]
    let value: Int64

    init(_ reply: RESPReply) {
        kind = reply.kind
        bytes = Array(reply.bytes)
        value = reply.value
    }

    init(_ kind: RESPReply.Kind, _ text: String = "", value: Int64 = 0) {
        self.kind = kind
        bytes = Array(text.utf8)
        self.value = value
    }
}

/// Decodes replies from `stream` until more bytes are needed or a violation.
func decodeReplies(_ stream: [UInt8], format: RESPReplyFormat = RESPReplyFormat()) -> (
    replies: [CopiedReply], consumed: Int, violation: String?
) {
    var decoder = format.makeDecoder()
    var replies: [CopiedReply] = []
    var consumed = 0
    var violation: String?
    stream.withUnsafeBytes { raw in
        loop: while consumed < raw.count {
            switch decoder.decode(UnsafeRawBufferPointer(rebasing: raw[consumed...])) {
            case .request(let reply, let length):
                replies.append(CopiedReply(reply))
                consumed += length
            case .skip(let length):
                consumed += length
            case .needMore:
                break loop
            case .violation(let found):
                violation = "\(found)"
                break loop
            }
        }
    }
    return (replies, consumed, violation)
}

@Suite struct RESPReplyDecoderTests {
    static let everyKind = bytes(
        "+OK\r\n-ERR unknown command\r\n:42\r\n:-7\r\n$5\r\nhe\r\no\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n"
            + "*3\r\n$1\r\na\r\n*2\r\n:1\r\n+x\r\n$-1\r\n")

    @Test func everyKindOfReplyIsDecodedInOrder() {
        let decoded = decodeReplies(Self.everyKind)
        #expect(decoded.violation == nil)
        #expect(decoded.consumed == Self.everyKind.count)
        #expect(
            decoded.replies == [
                CopiedReply(.simpleString, "OK"), CopiedReply(.error, "ERR unknown command"),
                CopiedReply(.integer, "42", value: 42), CopiedReply(.integer, "-7", value: -7),
                CopiedReply(.bulkString, "he\r\no"), CopiedReply(.bulkString, ""), CopiedReply(.null),
                CopiedReply(.nullArray), CopiedReply(.array, value: 0),
                CopiedReply(.array, "$1\r\na\r\n*2\r\n:1\r\n+x\r\n$-1\r\n", value: 3),
            ])
    }

    @Test func aReplySplitAtAnyByteWaitsForTheRest() {
        // Every prefix of the stream yields exactly the replies wholly inside it.
        let whole = decodeReplies(Self.everyKind).replies
        var ends: [Int] = []
        var offset = 0
        var decoder = RESPReplyFormat().makeDecoder()
        Self.everyKind.withUnsafeBytes { raw in
            while offset < raw.count,
                case .request(_, let length) = decoder.decode(UnsafeRawBufferPointer(rebasing: raw[offset...]))
            {
                offset += length
                ends.append(offset)
            }
        }
        for cut in 0...Self.everyKind.count {
            let prefix = decodeReplies(Array(Self.everyKind[..<cut]))
            let expected = ends.filter { $0 <= cut }.count
            #expect(prefix.violation == nil, "cut at \(cut)")
            #expect(prefix.replies == Array(whole[..<expected]), "cut at \(cut)")
        }
    }

    @Test func elementsOfNestedArraysAreWalkedInPlace() {
        let stream = bytes("*3\r\n$1\r\na\r\n*2\r\n:1\r\n+x\r\n$-1\r\n")
        var decoder = RESPReplyFormat().makeDecoder()
        var top: [CopiedReply] = []
        var inner: [CopiedReply] = []
        stream.withUnsafeBytes { raw in
            guard case .request(let reply, _) = decoder.decode(raw) else { return }
            decoder.forEachElement(of: reply) { element in
                top.append(CopiedReply(element))
                if element.kind == .array { decoder.forEachElement(of: element) { inner.append(CopiedReply($0)) } }
            }
        }
        #expect(top.map(\.kind) == [.bulkString, .array, .null])
        #expect(inner == [CopiedReply(.integer, "1", value: 1), CopiedReply(.simpleString, "x")])
    }

    @Test(arguments: [
        ("?what\r\n", "unknown reply type '?'"),
        (":12a\r\n", "invalid integer reply"),
        (":007\r\n", "invalid integer reply"),
        ("$3\r\nabcd\r\n", "bulk string in a reply not ended by CRLF"),
        ("$-2\r\n", "invalid bulk length in a reply"),
        ("$x\r\n", "invalid bulk length in a reply"),
        ("*-5\r\n", "invalid multibulk length in a reply"),
        ("+OK\rX", "expected LF after CR in a reply line"),
        ("*2\r\n:1\r\n!\r\n", "unknown reply type '!'"),
    ])
    func corruptRepliesAreViolations(stream: String, reason: String) {
        #expect(decodeReplies(bytes(stream)).violation == reason)
    }

    @Test func limitsAreEnforcedBeforeTheBytesArrive() {
        let format = RESPReplyFormat(maxBulkBytes: 100, maxLineBytes: 16, maxReplyBytes: 1_000)
        #expect(decodeReplies(bytes("$101\r\n"), format: format).violation == "invalid bulk length in a reply")
        #expect(decodeReplies(bytes("$100\r\n"), format: format).violation == nil)
        // Elements take three bytes at least: 400 cannot fit in 1,000 bytes,
        // nor can two nested arrays of 300 each; refused before they arrive.
        #expect(decodeReplies(bytes("*400\r\n"), format: format).violation == "invalid multibulk length in a reply")
        #expect(decodeReplies(bytes("*300\r\n"), format: format).violation == nil)
        #expect(
            decodeReplies(bytes("*300\r\n*300\r\n"), format: format).violation == "message larger than the maximum")
        #expect(
            decodeReplies(bytes("+" + String(repeating: "a", count: 20)), format: format).violation
                == "reply line longer than the maximum")
    }

    @Test func requestsWrittenForServersAreReadBackExactly() {
        let arguments: [[UInt8]] = [bytes("SET"), bytes("key:1"), [0, 13, 10, 255], []]
        let encoded = RESPRequestWriter.encode(arguments)
        #expect(encoded == multibulk(arguments))
        let decoded = DecodedStream(encoded)
        #expect(decoded.commands == [arguments])
        #expect(RESPRequestWriter.encode(["PING"]) == bytes("*1\r\n$4\r\nPING\r\n"))
    }

    @Test func headersAreFormattedInPlace() {
        for (marker, value, text) in [
            (UInt8(ascii: "*"), 3, "*3\r\n"), (UInt8(ascii: "$"), -1, "$-1\r\n"),
            (UInt8(ascii: ":"), Int.min, ":-9223372036854775808\r\n"),
        ] {
            let written = RESPEncoding.withHeader(marker, value) { Array($0) }
            #expect(written == bytes(text))
            #expect(written.count <= RESPEncoding.maxHeaderBytes)
        }
    }
}
