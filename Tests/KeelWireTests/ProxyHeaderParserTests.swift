// PROXY protocol headers (HAProxy's specification, versions 1 and 2): the
// specification's examples, every truncation, headers followed by data, and
// garbage, which is refused with a reason and never crashes the parser.

import KeelTestSupport
import Testing

@testable import KeelWire

/// Parses `bytes` as `mode` allows.
func parseProxy(_ bytes: [UInt8], mode: ProxyProtocol = .auto) -> ProxyHeaderParse {
    bytes.withUnsafeBytes { ProxyHeaderParser.parse($0, mode: mode) }
}

@Suite struct ProxyHeaderParserTests {
    private func address(_ host: String, _ port: Int) -> SocketAddress { SocketAddress(host: host, port: port)! }

    private func expectHeader(
        _ bytes: [UInt8], mode: ProxyProtocol = .auto, source: SocketAddress?, destination: SocketAddress?,
        version: ProxyHeader.Version, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let expected = ProxyHeader(version: version, source: source, destination: destination)
        #expect(
            parseProxy(bytes, mode: mode) == .header(expected, length: bytes.count), sourceLocation: sourceLocation)
        // Every proper prefix is a valid beginning, and data after the header is not part of it.
        for cut in 0..<bytes.count {
            #expect(
                parseProxy(Array(bytes[..<cut]), mode: mode) == .incomplete, "cut at \(cut)",
                sourceLocation: sourceLocation)
        }
        #expect(
            parseProxy(bytes + [4, 0, 0, 0, 1, 2, 3, 4], mode: mode) == .header(expected, length: bytes.count),
            sourceLocation: sourceLocation)
    }

    private func expectInvalid(
        _ bytes: [UInt8], mode: ProxyProtocol = .auto, mentioning: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .invalid(let why) = parseProxy(bytes, mode: mode) else {
            Issue.record("accepted \(bytes)", sourceLocation: sourceLocation)
            return
        }
        #expect(why.contains(mentioning), "\(why)", sourceLocation: sourceLocation)
    }

    // MARK: version 1

    @Test func v1SpecificationExamples() {
        expectHeader(
            Array("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".utf8),
            source: address("192.168.0.1", 56_324), destination: address("192.168.0.11", 443), version: .v1)
        let all = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        expectHeader(
            Array("PROXY TCP6 \(all) \(all) 65535 65535\r\n".utf8), source: address(all, 65_535),
            destination: address(all, 65_535), version: .v1)
        // The specification's worst case is exactly the 107-byte limit.
        let longest = "PROXY UNKNOWN \(all) \(all) 65535 65535\r\n"
        #expect(longest.utf8.count == ProxyHeaderParser.maximumV1Bytes)
        expectHeader(Array(longest.utf8), source: nil, destination: nil, version: .v1)
        expectHeader(Array("PROXY UNKNOWN\r\n".utf8), source: nil, destination: nil, version: .v1)
        expectHeader(
            Array("PROXY TCP6 2001:db8::1 ::1 4242 7000\r\n".utf8), mode: .v1,
            source: address("2001:db8::1", 4242), destination: address("::1", 7000), version: .v1)
    }

    @Test func v1Refusals() {
        let cases: [(String, String)] = [
            ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "not printable"),  // LF without CR
            ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r", "CR not followed by LF"),
            ("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "unknown protocol"),
            ("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "fields"),
            ("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "fields"),  // two spaces
            ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "fields"),  // trailing space
            ("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "address or port"),
            ("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", "address or port"),  // leading zero
            ("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "address or port"),
            ("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "address or port"),  // wrong family
            ("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "address or port"),
            ("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "address or port"),
            ("PROXY TCP4 localhost 5.6.7.8 1 2\r\n", "address or port"),
            ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\u{7}\r\n", "not printable"),
            ("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "no PROXY header"),
            ("PROXI", "not a PROXY v1 header"),
            ("GET / HTTP/1.1\r\n", "no PROXY header"),
        ]
        for (text, reason) in cases { expectInvalid(Array(text.utf8), mentioning: reason) }
        // 107 bytes of header text without CRLF: refused as soon as the limit is reached, not before.
        let endless = Array(("PROXY UNKNOWN " + String(repeating: "x", count: 200)).utf8)
        #expect(parseProxy(Array(endless[..<105])) == .incomplete)
        expectInvalid(Array(endless[..<106]), mentioning: "no CRLF within 107 bytes")
        expectInvalid(endless, mentioning: "no CRLF within 107 bytes")
        // CRLF that would end at byte 108 is one too many.
        let tooLong = Array(("PROXY UNKNOWN " + String(repeating: "x", count: 92) + "\r\n").utf8)
        #expect(tooLong.count == 108)
        expectInvalid(tooLong, mentioning: "no CRLF")
    }

    // MARK: version 2

    @Test func v2AddressFamilies() {
        expectHeader(
            proxyV2(body: proxyV2IPv4Body), source: address("203.0.113.7", 4242),
            destination: address("127.0.0.1", 7000), version: .v2)
        let ipv6Body: [UInt8] =
            [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1] + [UInt8](repeating: 0, count: 15) + [1]
            + [0x10, 0x92, 0x1B, 0x58]
        expectHeader(
            proxyV2(family: 2, body: ipv6Body), mode: .v2, source: address("2001:db8::1", 4242),
            destination: address("::1", 7000), version: .v2)
        // LOCAL (a balancer's health check): addresses, if any, are ignored.
        expectHeader(
            proxyV2(command: 0, family: 0, transport: 0, body: []), source: nil, destination: nil, version: .v2)
        expectHeader(proxyV2(command: 0, body: proxyV2IPv4Body), source: nil, destination: nil, version: .v2)
        // UNSPEC and UNIX carry no IP address: the socket's own peer stands.
        expectHeader(proxyV2(family: 0, transport: 0, body: []), source: nil, destination: nil, version: .v2)
        expectHeader(
            proxyV2(family: 3, body: [UInt8](repeating: 0x2F, count: 216)), source: nil, destination: nil, version: .v2
        )
    }

    @Test func v2SkipsWellFormedTLVs() {
        let tlvs: [UInt8] = [0x04, 0x00, 0x03, 0, 0, 0] + [0x05, 0x00, 0x02, 0xAB, 0xCD] + [0x01, 0x00, 0x00]
        expectHeader(
            proxyV2(body: proxyV2IPv4Body + tlvs), source: address("203.0.113.7", 4242),
            destination: address("127.0.0.1", 7000), version: .v2)
    }

    @Test func v2Refusals() {
        var wrongVersion = proxyV2(body: proxyV2IPv4Body)
        wrongVersion[12] = 0x11
        expectInvalid(wrongVersion, mentioning: "version 1, expected 2")
        expectInvalid(proxyV2(command: 2, body: proxyV2IPv4Body), mentioning: "unknown command 2")
        expectInvalid(proxyV2(family: 4, body: proxyV2IPv4Body), mentioning: "unknown address family 4")
        expectInvalid(proxyV2(transport: 3, body: proxyV2IPv4Body), mentioning: "unknown transport 3")
        expectInvalid(proxyV2(body: Array(proxyV2IPv4Body[..<11])), mentioning: "11 address bytes, the family needs 12")
        expectInvalid(proxyV2(family: 2, body: proxyV2IPv4Body), mentioning: "the family needs 36")
        expectInvalid(proxyV2(transport: 2, body: proxyV2IPv4Body), mentioning: "datagram")
        expectInvalid(proxyV2(body: proxyV2IPv4Body + [0x04, 0x00, 0x05, 1]), mentioning: "malformed TLV")
        expectInvalid(proxyV2(body: proxyV2IPv4Body + [0x04, 0x00]), mentioning: "malformed TLV")
        // The length field alone is enough to refuse an oversized header.
        let huge = Array(proxyV2(body: [UInt8](repeating: 0, count: ProxyHeaderParser.maximumV2Bytes))[..<16])
        expectInvalid(huge, mentioning: "over the 4096-byte limit")
        var badSignature = proxyV2(body: proxyV2IPv4Body)
        badSignature[6] = 0x0B
        expectInvalid(Array(badSignature[..<7]), mentioning: "not the v2 signature")
    }

    // MARK: modes

    @Test func eachModeTakesOnlyItsVersion() {
        let v1 = Array("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n".utf8)
        let v2 = proxyV2(body: proxyV2IPv4Body)
        for mode in [ProxyProtocol.v1, .auto] {
            guard case .header = parseProxy(v1, mode: mode) else {
                Issue.record("\(mode) refused v1")
                continue
            }
        }
        for mode in [ProxyProtocol.v2, .auto] {
            guard case .header = parseProxy(v2, mode: mode) else {
                Issue.record("\(mode) refused v2")
                continue
            }
        }
        expectInvalid(v2, mode: .v1, mentioning: "a PROXY v2 header where v1 is expected")
        expectInvalid(v1, mode: .v2, mentioning: "a PROXY v1 header where v2 is expected")
        expectInvalid([4, 0, 0, 0, 1, 2, 3, 4], mode: .v2, mentioning: "begins 04 00 00 00 01 02 03 04")
        #expect(parseProxy([], mode: .v1) == .incomplete)
    }

    @Test func randomBytesNeverCrashAndNeverOverrun() {
        var random = SeededRandom(seed: 0x5EED_0001)
        // Random tails after nothing, after a prefix of each version, and
        // after whole headers (which must be found, and never past the end).
        let v1Header = Array("PROXY TCP4 203.0.113.7 127.0.0.1 4242 7000\r\n".utf8)
        let v2Header = proxyV2(body: proxyV2IPv4Body)
        let starts: [[UInt8]] = [[], Array("PROXY ".utf8), Array(v2Header[..<12]), v1Header, v2Header]
        var seen = (header: 0, incomplete: 0, invalid: 0)
        for round in 0..<20_000 {
            let start = starts[round % starts.count]
            let tail = (0..<Int.random(in: 0..<64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random)
            }
            let bytes = start + tail
            switch parseProxy(bytes) {
            case .header(_, let length):
                seen.header += 1
                #expect(length <= bytes.count, "round \(round)")
                if start == v1Header || start == v2Header {
                    #expect(length == start.count, "round \(round): a whole header then a tail")
                }
            case .incomplete: seen.incomplete += 1
            case .invalid: seen.invalid += 1
            }
        }
        // Every outcome was exercised: whole headers (a fifth of the rounds
        // each way at least), and the random starts refused or incomplete.
        #expect(seen.header >= 2 * 20_000 / 5, "\(seen)")
        #expect(seen.incomplete > 0 && seen.invalid > 0, "\(seen)")
    }
}
