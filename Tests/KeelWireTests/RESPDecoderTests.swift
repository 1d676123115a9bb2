// The RESP decoder against redis-server's behaviour: multibulk and inline
// requests, Redis's quoting, skipped empty requests, its exact error texts,
// every limit, strict integers, and a seeded model of random pipelines split
// at random points.

import KeelTestSupport
import Testing

@testable import KeelWire

/// Decodes `bytes` the way a connection's buffer is consumed: requests,
/// skips, until more bytes are needed or a violation.
struct DecodedStream {
    var commands: [[[UInt8]]] = []
    var violation: String?
    var consumed = 0
    var needMoreAtLeast: Int?

    init(_ bytes: [UInt8], format: RESPFormat = RESPFormat()) {
        var decoder = format.makeDecoder()
        bytes.withUnsafeBytes { raw in
            while consumed < raw.count {
                let rest = UnsafeRawBufferPointer(rebasing: raw[consumed...])
                switch decoder.decode(rest) {
                case .request(let command, let length):
                    commands.append(command.copiedArguments)
                    consumed += length
                case .skip(let length):
                    consumed += length
                case .needMore(let atLeast):
                    needMoreAtLeast = consumed + atLeast
                    return
                case .violation(let violation):
                    self.violation = "\(violation)"
                    return
                }
            }
        }
    }
}

@Suite struct RESPDecoderTests {
    @Test func multibulkCommandsArePipelinedAndBinarySafe() {
        let stream =
            multibulk([bytes("SET"), bytes("key"), [0, 13, 10, 255]]) + multibulk([bytes("GET"), bytes("key")])
            + multibulk([bytes("PING")])
        let decoded = DecodedStream(stream)
        #expect(decoded.violation == nil)
        #expect(decoded.consumed == stream.count)
        #expect(
            decoded.commands == [
                [bytes("SET"), bytes("key"), [0, 13, 10, 255]], [bytes("GET"), bytes("key")], [bytes("PING")],
            ])
    }

    @Test(arguments: [
        ("PING\r\n", [["PING"]]),
        ("PING\n", [["PING"]]),
        ("  set   a  b \r\n", [["set", "a", "b"]]),
        ("SET \"a b\" 'c d'\r\n", [["SET", "a b", "c d"]]),
        ("ECHO \"\\x41\\x62\\n\"\r\n", [["ECHO", "Ab\n"]]),
        ("ECHO \"q\\\"uote\"\r\n", [["ECHO", "q\"uote"]]),
        ("ECHO 'it\\'s'\r\n", [["ECHO", "it's"]]),
        ("ECHO ab\"cd ef\" gh\r\n", [["ECHO", "abcd ef", "gh"]]),
        ("ECHO \"\"\r\n", [["ECHO", ""]]),
        ("\r\n\r\nPING\r\n", [["PING"]]),
        ("\t \r\n", []),
    ])
    func inlineRequestsSplitAsRedisSplitsThem(input: String, expected: [[String]]) {
        let decoded = DecodedStream(bytes(input))
        #expect(decoded.violation == nil, "\(input)")
        #expect(decoded.commands == expected.map { $0.map(bytes) }, "\(input)")
        #expect(decoded.consumed == bytes(input).count)
    }

    /// A NUL hides a line's end, as it does from redis-server's strchr: the
    /// request waits for more bytes, and is refused once over the limit.
    @Test func aNulBeforeALineEndMakesTheRequestWait() {
        for (stream, reason) in [
            (bytes("PING") + [0] + bytes("X\r\n"), "too big inline request"),
            (bytes("*1\r\n$4") + [0] + bytes("\r\nPING\r\n"), "too big bulk count string"),
            (bytes("*1") + [0] + bytes("\r\n$4\r\nPING\r\n"), "too big mbulk count string"),
        ] {
            let waiting = DecodedStream(stream)
            #expect(waiting.commands.isEmpty && waiting.violation == nil && waiting.needMoreAtLeast != nil)
            #expect(DecodedStream(stream + [UInt8](repeating: 0x41, count: 65_536)).violation == reason)
        }
    }

    @Test(arguments: [
        ("*3000000000\r\n", "invalid multibulk length"),
        ("*abc\r\n", "invalid multibulk length"),
        ("*+1\r\n", "invalid multibulk length"),
        ("*01\r\n", "invalid multibulk length"),
        ("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "expected '$', got 'f'"),
        ("*1\r\nfoo\r\n", "expected '$', got 'f'"),
        ("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", "invalid bulk length"),
        ("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", "invalid bulk length"),
        ("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", "invalid bulk length"),
        ("SET \"abc\r\n", "unbalanced quotes in request"),
        ("SET \"abc\"def\r\n", "unbalanced quotes in request"),
        ("SET 'abc\r\n", "unbalanced quotes in request"),
        ("ECHO ab\"cd ef\"gh\r\n", "unbalanced quotes in request"),
    ])
    func malformedRequestsGetRedisErrorTexts(input: String, reason: String) {
        let decoded = DecodedStream(bytes(input))
        #expect(decoded.violation == reason, "\(input)")
        let reply = RESPFormat().makeDecoder().errorReply(for: ProtocolViolation(StaticString(stringLiteral: "x")))
        #expect(reply == bytes("-ERR Protocol error: x\r\n"))
    }

    @Test func emptyAndNegativeArraysAreSkipped() {
        let stream = bytes("*0\r\n*-10\r\n*-1\r\n") + multibulk([bytes("PING")])
        let decoded = DecodedStream(stream)
        #expect(decoded.commands == [[bytes("PING")]])
        #expect(decoded.consumed == stream.count)
    }

    /// The desync cases of redis-server's protocol tests: more than 64 KiB
    /// from where a line starts without its end is refused, whatever the
    /// request began with (a bulk's length line starts after the array's).
    @Test(arguments: [
        ([0x00] as [UInt8], 0, "too big inline request"), (bytes("*"), 0, "too big mbulk count string"),
        (bytes("$"), 0, "too big inline request"), (bytes("*1\r\n"), 4, "too big bulk count string"),
    ])
    func linesWithoutAnEndAreRefusedAfter64KiB(prefix: [UInt8], lineStart: Int, reason: String) {
        let almost = prefix + [UInt8](repeating: 0x41, count: 65_536 + lineStart - prefix.count)
        #expect(DecodedStream(almost).violation == nil, "64 KiB is still allowed")
        #expect(DecodedStream(almost + [0x41]).violation == reason)
    }

    /// An inline line may hold 64 KiB, then its end: the CR of a CRLF end
    /// is the end's, not the line's (it used to be counted, so a full line
    /// ended by CRLF was refused where the same line ended by LF passed).
    @Test func anInlineLineOfTheLimitEndsWithLFOrCRLF() {
        let full = [UInt8](repeating: 0x41, count: 65_536)
        for end in [bytes("\n"), bytes("\r\n")] {
            let decoded = DecodedStream(full + end)
            #expect(decoded.violation == nil && decoded.commands == [[full]], "ended by \(end)")
            #expect(DecodedStream(full + [0x41] + end).violation == "too big inline request", "one byte over")
        }
        #expect(DecodedStream(full + [0x0D]).needMoreAtLeast != nil, "a CR past the limit may begin the end")
        #expect(DecodedStream(full + [0x0D, 0x41]).violation == "too big inline request")
    }

    /// The error reply writes the offending byte as it came, except CR and
    /// LF, which become spaces (a raw CR or LF would end the reply's line
    /// early and break the client's parser), as redis-server maps them.
    @Test func errorRepliesKeepTheirLine() {
        let decoder = RESPFormat().makeDecoder()
        for (byte, shown) in [(UInt8(0x0D), UInt8(0x20)), (0x0A, 0x20), (0xFF, 0xFF), (0x78, 0x78)] {
            let violation = ProtocolViolation("expected '$', got '%c'", offendingByte: byte)
            #expect(
                decoder.errorReply(for: violation) == bytes("-ERR Protocol error: expected '$', got '") + [shown]
                    + bytes("'\r\n"))
        }
        #expect(DecodedStream(bytes("*1\r\n\r\n")).violation == "expected '$', got '\r'")
        #expect(
            decoder.errorReply(for: .requestTooLarge)
                == bytes("-ERR Protocol error: request larger than the maximum\r\n"))
    }

    @Test func limitsAreCheckedBeforeTheBytesArrive() {
        let format = RESPFormat(maxArguments: 3, maxBulkBytes: 10)
        #expect(DecodedStream(bytes("*4\r\n"), format: format).violation == "invalid multibulk length")
        #expect(DecodedStream(bytes("*3\r\n"), format: format).needMoreAtLeast != nil)
        #expect(DecodedStream(bytes("*1\r\n$11\r\n"), format: format).violation == "invalid bulk length")
        let waiting = DecodedStream(bytes("*1\r\n$10\r\n"), format: format)
        #expect(waiting.needMoreAtLeast == 9 + 10 + 2, "the whole bulk is known to be needed")
    }

    /// For every prefix of a pipeline, the decoder asks for more with a
    /// bound no larger than the request really needs (the loop may rely on
    /// it to take only the request's own bytes).
    @Test func needMoreIsALowerBoundForEveryPrefix() {
        let requests = [
            multibulk([bytes("SET"), bytes("key:000001"), [UInt8](repeating: 7, count: 300)]),
            bytes("PING extra \"quoted arg\"\r\n"), multibulk([bytes("MGET"), bytes("a"), bytes("b"), bytes("c")]),
        ]
        for request in requests {
            for cut in 1..<request.count {
                let decoded = DecodedStream(Array(request[..<cut]))
                #expect(decoded.violation == nil && decoded.commands.isEmpty, "prefix \(cut)")
                let bound = decoded.needMoreAtLeast ?? 0
                #expect(bound > cut && bound <= request.count, "prefix \(cut) of \(request.count): asks for \(bound)")
            }
            #expect(DecodedStream(request).commands.count == 1)
        }
    }

    @Test(arguments: [1, 2, 3])
    func randomPipelinesDecodeToWhatWasSent(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var sent: [[[UInt8]]] = []
        var stream: [UInt8] = []
        for _ in 0..<300 {
            let arguments = (0...Int(random.next() % 6)).map { _ in
                (0..<Int(random.next() % 40)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            }
            sent.append(arguments)
            stream += multibulk(arguments)
        }
        let decoded = DecodedStream(stream)
        #expect(decoded.commands == sent, "seed \(seed)")
        #expect(decoded.consumed == stream.count)
    }

    @Test(arguments: [
        ("0", 0 as Int64?), ("7", 7), ("-7", -7), ("9223372036854775807", Int64.max),
        ("-9223372036854775808", Int64.min), ("9223372036854775808", nil), ("007", nil), ("+7", nil),
        (" 7", nil), ("7 ", nil), ("-", nil), ("", nil), ("-0", nil), ("1e3", nil), ("123456789012345678901", nil),
    ])
    func integersFollowRedisRules(text: String, value: Int64?) {
        #expect(RESPInteger.parse(text) == value, "\(text)")
    }

    /// A request that lifts the restriction (AUTH) lifts it for the rest
    /// of the same read, whole requests and one whose bulk header arrives
    /// with it (`Delivery.restrict`); without that, the next request of 11
    /// arguments is a violation.
    @Test(arguments: [false, true])
    func aDeliveryMayLiftTheRestrictionForTheRestOfTheRead(lifts: Bool) {
        let pool = BufferPool(minimumBlockBytes: 16)
        var pending = RingBuffer()
        defer { pending.removeAll(pool: pool) }
        var decoder = RESPFormat().makeDecoder()
        decoder.restrictsRequests = true
        let eleven = multibulk([bytes("MSET")] + (0..<10).map { bytes("\($0)") })
        let stream = multibulk([bytes("AUTH"), bytes("pw")]) + eleven + bytes("*2\r\n$3\r\nGET\r\n$20000\r\n")
        var delivered: [[[UInt8]]] = []
        let outcome = stream.withUnsafeBytes { raw in
            MessageAssembler.feed(raw, decoder: &decoder, pending: &pending, pool: pool) { command in
                delivered.append(command.copiedArguments)
                return delivered.count == 1 && lifts ? .unrestrict : .next
            }
        }
        if lifts {
            #expect(delivered.count == 2)
            guard case .consumed(let requests) = outcome else {
                Issue.record("\(outcome)")
                return
            }
            #expect(requests == 2)
            #expect(!decoder.restrictsRequests)
            #expect(pending.count == 21, "the incomplete GET waits")
        } else {
            #expect(delivered.count == 1)
            guard case .violation(let violation, _) = outcome else {
                Issue.record("\(outcome)")
                return
            }
            #expect("\(violation)".contains("unauthenticated multibulk length"))
        }
    }
}
