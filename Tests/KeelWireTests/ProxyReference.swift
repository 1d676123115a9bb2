// An independent reading of the PROXY protocol specification, for the
// fuzzer to hold ProxyHeaderParser against: written from the text of the
// specification, not from the parser, and simple rather than fast (it works
// on whole arrays, parses addresses itself, and decides only once a whole
// header is present). Keel's own rules on top of the specification, which
// the reference shares with the parser (so the fuzzer cannot judge them): at
// most 4,096 bytes for a v2 header; ports without leading zeros; "UNKNOWN"
// lines carry no address and only printable text; datagram (UDP) headers
// are refused; a LOCAL header still needs a known family and a block that
// fits it (the specification would ignore both).

import Glibc

@testable import KeelWire

enum ProxyReference {
    /// What the specification says about the bytes at the start of a connection.
    enum Verdict {
        /// A whole header of `length` bytes; addresses as (host bytes, port),
        /// source then destination, or nil for a header without them.
        case header(length: Int, addresses: [([UInt8], Int)]?)
        /// No whole header can start here.
        case invalid
        /// Not decided: the header is not whole yet (the parser may say
        /// incomplete, or already invalid, but never a header).
        case undecided
    }

    static let v1Prefix = Array("PROXY ".utf8)
    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    static func verdict(_ bytes: [UInt8], mode: ProxyProtocol) -> Verdict {
        guard let first = bytes.first else { return .undecided }
        if first == v1Prefix[0] { return mode == .v2 ? .invalid : v1(bytes) }
        if first == v2Signature[0] { return mode == .v1 ? .invalid : v2(bytes) }
        return .invalid
    }

    // MARK: v1: "PROXY TCP4 SRC DST SPORT DPORT\r\n", at most 107 bytes.

    static func v1(_ bytes: [UInt8]) -> Verdict {
        let window = Array(bytes.prefix(107))
        guard let cr = (0..<max(0, window.count - 1)).first(where: { window[$0] == 0x0D && window[$0 + 1] == 0x0A })
        else { return window.count >= 107 ? .invalid : .undecided }
        guard cr >= v1Prefix.count, Array(window[..<v1Prefix.count]) == v1Prefix else { return .invalid }
        let line = Array(window[v1Prefix.count..<cr])
        guard line.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else { return .invalid }
        let fields = split(line, on: 0x20)
        let length = cr + 2
        if fields[0] == Array("UNKNOWN".utf8) { return .header(length: length, addresses: nil) }
        let ipv6: Bool
        if fields[0] == Array("TCP4".utf8) {
            ipv6 = false
        } else if fields[0] == Array("TCP6".utf8) {
            ipv6 = true
        } else {
            return .invalid
        }
        guard fields.count == 5, let sourcePort = port(fields[3]), let destinationPort = port(fields[4]),
            let source = ipv6 ? ipv6Address(fields[1]) : ipv4Address(fields[1]),
            let destination = ipv6 ? ipv6Address(fields[2]) : ipv4Address(fields[2])
        else { return .invalid }
        return .header(length: length, addresses: [(source, sourcePort), (destination, destinationPort)])
    }

    static func split(_ bytes: [UInt8], on separator: UInt8) -> [[UInt8]] {
        var parts: [[UInt8]] = [[]]
        for byte in bytes {
            if byte == separator { parts.append([]) } else { parts[parts.count - 1].append(byte) }
        }
        return parts
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// A decimal port, 0...65535, no sign, no leading zero.
    static func port(_ text: [UInt8]) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(isDigit), text.count == 1 || text[0] != 0x30 else {
            return nil
        }
        let value = text.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return value <= 65_535 ? value : nil
    }

    /// Dotted quad: four decimal parts 0...255, no leading zeros.
    static func ipv4Address(_ text: [UInt8]) -> [UInt8]? {
        let parts = split(text, on: 0x2E)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(isDigit), part.count == 1 || part[0] != 0x30 else {
                return nil
            }
            let value = part.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard value <= 255 else { return nil }
            out.append(UInt8(value))
        }
        return out
    }

    /// RFC 4291 text: eight groups of 1-4 hex digits, one "::" standing for
    /// one or more zero groups, an IPv4 dotted quad allowed as the last 32 bits.
    static func ipv6Address(_ text: [UInt8]) -> [UInt8]? {
        func hexValue(_ byte: UInt8) -> Int? {
            switch byte {
            case 0x30...0x39: return Int(byte - 0x30)
            case 0x61...0x66: return Int(byte - 0x61 + 10)
            case 0x41...0x46: return Int(byte - 0x41 + 10)
            default: return nil
            }
        }
        func groups(_ part: [UInt8], allowIPv4Tail: Bool) -> [UInt8]? {
            if part.isEmpty { return [] }
            let pieces = split(part, on: 0x3A)
            var out: [UInt8] = []
            for (index, piece) in pieces.enumerated() {
                if allowIPv4Tail && index == pieces.count - 1 && piece.contains(0x2E) {
                    guard let quad = ipv4Address(piece) else { return nil }
                    out += quad
                    continue
                }
                guard !piece.isEmpty, piece.count <= 4 else { return nil }
                var value = 0
                for byte in piece {
                    guard let digit = hexValue(byte) else { return nil }
                    value = value * 16 + digit
                }
                out += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return out
        }
        var doubleColon: Int?
        var index = 0
        while index + 1 < text.count {
            if text[index] == 0x3A && text[index + 1] == 0x3A {
                guard doubleColon == nil else { return nil }
                doubleColon = index
                index += 2
                continue
            }
            index += 1
        }
        guard let gap = doubleColon else {
            guard let all = groups(text, allowIPv4Tail: true), all.count == 16 else { return nil }
            return all
        }
        let head = Array(text[..<gap])
        let tail = Array(text[(gap + 2)...])
        guard let front = groups(head, allowIPv4Tail: false), let back = groups(tail, allowIPv4Tail: true),
            front.count + back.count <= 14
        else { return nil }
        return front + [UInt8](repeating: 0, count: 16 - front.count - back.count) + back
    }

    // MARK: v2: 12-byte signature, version/command, family/transport, length, body.

    static func v2(_ bytes: [UInt8]) -> Verdict {
        let signatureSeen = min(bytes.count, v2Signature.count)
        guard Array(bytes[..<signatureSeen]) == Array(v2Signature[..<signatureSeen]) else { return .invalid }
        guard bytes.count >= 16 else { return .undecided }
        let total = 16 + (Int(bytes[14]) << 8 | Int(bytes[15]))
        guard total <= 4_096 else { return .invalid }
        guard bytes.count >= total else { return .undecided }
        let version = bytes[12] >> 4
        let command = bytes[12] & 0x0F
        let family = bytes[13] >> 4
        let transport = bytes[13] & 0x0F
        guard version == 2, command <= 1, family <= 3, transport <= 2 else { return .invalid }
        let body = Array(bytes[16..<total])
        let needed = [0, 12, 36, 216][Int(family)]
        guard body.count >= needed else { return .invalid }
        // Type-length-value records must fill the rest exactly.
        var offset = needed
        while offset < body.count {
            guard offset + 3 <= body.count else { return .invalid }
            offset += 3 + (Int(body[offset + 1]) << 8 | Int(body[offset + 2]))
        }
        guard offset == body.count else { return .invalid }
        if command == 0 { return .header(length: total, addresses: nil) }
        guard transport != 2 else { return .invalid }
        func port(at index: Int) -> Int { Int(body[index]) << 8 | Int(body[index + 1]) }
        switch family {
        case 1:
            return .header(
                length: total, addresses: [(Array(body[0..<4]), port(at: 8)), (Array(body[4..<8]), port(at: 10))])
        case 2:
            return .header(
                length: total, addresses: [(Array(body[0..<16]), port(at: 32)), (Array(body[16..<32]), port(at: 34))])
        default:
            return .header(length: total, addresses: nil)
        }
    }

    /// The address bytes of a parsed SocketAddress (for comparing with the reference).
    static func bytes(of address: SocketAddress) -> [UInt8] {
        var storage = in6_addr()
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        guard inet_pton(family, address.host, &storage) == 1 else { return [] }
        return withUnsafeBytes(of: &storage) { Array($0.prefix(address.isIPv6 ? 16 : 4)) }
    }
}
