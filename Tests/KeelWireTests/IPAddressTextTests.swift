// IPAddressText against the C library it replaced: every text tried must
// parse (or be refused) exactly as inet_pton(3) does, and every address must
// print exactly as inet_ntop(3) prints it.

import Glibc
import KeelTestSupport
import Testing

@testable import KeelWire

@Suite struct IPAddressTextTests {
    @Test func readsWhatInetPtonReadsAndRefusesWhatItRefuses() {
        let fixed = [
            "0.0.0.0", "255.255.255.255", "127.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "256.1.1.1",
            "1..2.3", ".1.2.3", "1.2.3.", "", " 1.2.3.4", "1.2.3.4 ", "::", "::1", "1::", ":::", "1:::2", ":1::2",
            "1::2:", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8", "1::2:3:4:5:6:7", "::ffff:1.2.3.4",
            "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3", "::1.2.3.4:5", "12345::",
            "0000:0000:0000:0000:0000:0000:0000:0001", "00000::1", "fe80::1%eth0", "FE80::ABCD", "g::1", "1::2::3",
            "::ffff:01.2.3.4", "2001:db8::", "localhost", "1.2.3.4::", "::ffff:1.2.3.256",
        ]
        for text in fixed { expectSameParse(text) }
        var random = SeededRandom(seed: 16)
        let alphabet = Array("0123456789abcdefABCDEF:.:.:0".utf8)
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...24, using: &random)
            let text = String(
                decoding: (0..<length).map { _ in alphabet.randomElement(using: &random)! }, as: UTF8.self)
            expectSameParse(text)
        }
        // Texts inet_ntop wrote, altered by one character: near-valid inputs.
        for _ in 0..<5_000 {
            var text = Array(inetNtop6(randomAddress(using: &random)).utf8)
            let index = Int.random(in: 0..<text.count, using: &random)
            text[index] = alphabet.randomElement(using: &random)!
            expectSameParse(String(decoding: text, as: UTF8.self))
        }
    }

    @Test func printsWhatInetNtopPrints() {
        var random = SeededRandom(seed: 6)
        for _ in 0..<20_000 {
            let address = randomAddress(using: &random)
            let expected = inetNtop6(address)
            #expect(IPAddressText.ipv6Text(address) == expected, "bytes \(address)")
            #expect(IPAddressText.ipv6Bytes(expected) == address, "text \(expected)")
            let four = Array(address.prefix(4))
            var v4 = in_addr()
            withUnsafeMutableBytes(of: &v4) { $0.copyBytes(from: four) }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            inet_ntop(AF_INET, &v4, &text, socklen_t(text.count))
            #expect(IPAddressText.ipv4Text(four) == String(cString: text))
        }
    }

    /// Sixteen bytes whose groups are mostly zero, some 0xffff, so that
    /// zero runs of every length and the IPv4-mapped forms come up often.
    private func randomAddress(using random: inout SeededRandom) -> [UInt8] {
        (0..<8).flatMap { _ -> [UInt8] in
            switch Int.random(in: 0..<6, using: &random) {
            case 0, 1, 2: return [0, 0]
            case 3: return [0xFF, 0xFF]
            default: return [UInt8.random(in: 0...255, using: &random), UInt8.random(in: 0...255, using: &random)]
            }
        }
    }

    private func inetNtop6(_ bytes: [UInt8]) -> String {
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
        return String(cString: text)
    }

    private func expectSameParse(_ text: String) {
        var v4 = in_addr()
        let c4 = inet_pton(AF_INET, text, &v4) == 1 ? withUnsafeBytes(of: &v4) { Array($0) } : nil
        #expect(IPAddressText.ipv4Bytes(text) == c4, "IPv4 \"\(text)\"")
        var v6 = in6_addr()
        let c6 = inet_pton(AF_INET6, text, &v6) == 1 ? withUnsafeBytes(of: &v6) { Array($0) } : nil
        #expect(IPAddressText.ipv6Bytes(text) == c6, "IPv6 \"\(text)\"")
    }
}
