// ProxyHeaderParser: reads a PROXY protocol header (v1 text or v2 binary, as
// HAProxy's specification "The PROXY protocol" defines them) from the first
// bytes of a connection.
//
// Incremental by re-parsing: the caller keeps what arrived and calls again
// with more; a header is at most 107 (v1) or maximumV2Bytes (v2) bytes, so
// re-reading it is cheap and the parser keeps no state. Garbage is refused at
// the first byte that cannot belong to a header, so a client that is not a
// balancer is told apart without waiting for a whole header's worth.

/// The outcome of reading a PROXY header from the start of a connection.
package enum ProxyHeaderParse: Sendable, Equatable {
    /// A valid beginning, not yet a whole header.
    case incomplete
    /// A whole header, `length` bytes long; what follows it is the client's data.
    case header(ProxyHeader, length: Int)
    /// Not a valid header (of the expected version); the text says why.
    case invalid(String)
}

/// Parses PROXY protocol headers.
package enum ProxyHeaderParser {
    /// The longest v1 header, CRLF included (the specification's limit).
    package static let maximumV1Bytes = 107
    /// The longest v2 header Keel accepts, TLVs included. The format allows
    /// 16 + 65,535; balancers send tens to a few hundred bytes, and a bound
    /// keeps what an unauthenticated peer can make Keel buffer small.
    package static let maximumV2Bytes = 4_096

    private static let v1Prefix: [UInt8] = Array("PROXY ".utf8)
    private static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    private static let v2FixedBytes = 16

    /// Reads the header at the start of `bytes`, as `mode` allows.
    package static func parse(_ bytes: UnsafeRawBufferPointer, mode: ProxyProtocol) -> ProxyHeaderParse {
        precondition(mode != .off, "no header is expected with the PROXY protocol off")
        guard let first = bytes.first else { return .incomplete }
        let version: ProxyHeader.Version
        switch first {
        case v1Prefix[0]: version = .v1
        case v2Signature[0]: version = .v2
        default: return .invalid("no PROXY header: the connection begins \(preview(bytes))")
        }
        guard mode.accepts(version) else {
            return .invalid("a PROXY \(version) header where \(mode) is expected")
        }
        return version == .v1 ? parseV1(bytes) : parseV2(bytes)
    }

    // MARK: Version 1: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"

    private static func parseV1(_ bytes: UnsafeRawBufferPointer) -> ProxyHeaderParse {
        guard matches(bytes, v1Prefix) else {
            return .invalid("not a PROXY v1 header: it begins \(preview(bytes)), not \"PROXY \"")
        }
        // CR may stand at most at index 105, so that CRLF ends by byte 107.
        var index = v1Prefix.count
        let lastCarriageReturn = maximumV1Bytes - 2
        while index < bytes.count && index <= lastCarriageReturn {
            let byte = bytes[index]
            if byte == 0x0D {
                guard index + 1 < bytes.count else { return .incomplete }
                guard bytes[index + 1] == 0x0A else { return .invalid("PROXY v1 header: CR not followed by LF") }
                return v1Line(UnsafeRawBufferPointer(rebasing: bytes[v1Prefix.count..<index]), length: index + 2)
            }
            guard byte >= 0x20 && byte < 0x7F else {
                return .invalid("PROXY v1 header: byte \(hex(byte)) at offset \(index) is not printable text")
            }
            index += 1
        }
        if index > lastCarriageReturn {
            return .invalid("PROXY v1 header: no CRLF within \(maximumV1Bytes) bytes")
        }
        return .incomplete
    }

    /// The fields after "PROXY ": "TCP4|TCP6 SOURCE DESTINATION SPORT DPORT" or "UNKNOWN ...".
    private static func v1Line(_ line: UnsafeRawBufferPointer, length: Int) -> ProxyHeaderParse {
        let fields = String(decoding: line, as: UTF8.self).split(separator: " ", omittingEmptySubsequences: false)
        let ipv6: Bool
        switch fields[0] {
        case "UNKNOWN": return .header(ProxyHeader(version: .v1, source: nil, destination: nil), length: length)
        case "TCP4": ipv6 = false
        case "TCP6": ipv6 = true
        default: return .invalid("PROXY v1 header: unknown protocol \"\(fields[0])\" (TCP4, TCP6 or UNKNOWN)")
        }
        guard fields.count == 5 else {
            return .invalid(
                "PROXY v1 header: \(fields.count - 1) fields after \(fields[0]); expected source, destination, "
                    + "source port, destination port, separated by single spaces")
        }
        guard let source = v1Address(fields[1], port: fields[3], ipv6: ipv6),
            let destination = v1Address(fields[2], port: fields[4], ipv6: ipv6)
        else {
            return .invalid("PROXY v1 header: bad \(fields[0]) address or port in \"\(fields.joined(separator: " "))\"")
        }
        return .header(ProxyHeader(version: .v1, source: source, destination: destination), length: length)
    }

    /// A numeric address of the given family and a decimal port without
    /// leading zeros, or nil.
    private static func v1Address(_ host: Substring, port text: Substring, ipv6: Bool) -> SocketAddress? {
        guard (1...5).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }),
            text == "0" || text.first != "0", let port = Int(text), port <= 65_535, host != "localhost",
            let address = SocketAddress(host: String(host), port: port), address.isIPv6 == ipv6
        else { return nil }
        return address
    }

    // MARK: Version 2: signature, version and command, family and transport, length, addresses, TLVs

    private static func parseV2(_ bytes: UnsafeRawBufferPointer) -> ProxyHeaderParse {
        guard matches(bytes, v2Signature) else {
            return .invalid("not a PROXY v2 header: it begins \(preview(bytes)), not the v2 signature")
        }
        guard bytes.count >= v2FixedBytes else { return .incomplete }
        let versionAndCommand = bytes[12]
        guard versionAndCommand >> 4 == 2 else {
            return .invalid("PROXY v2 header: version \(versionAndCommand >> 4), expected 2")
        }
        let command = versionAndCommand & 0x0F
        guard command <= 1 else { return .invalid("PROXY v2 header: unknown command \(command)") }
        let family = bytes[13] >> 4
        let transport = bytes[13] & 0x0F
        let total = v2FixedBytes + (Int(bytes[14]) << 8 | Int(bytes[15]))
        guard total <= maximumV2Bytes else {
            return .invalid("PROXY v2 header of \(total) bytes is over the \(maximumV2Bytes)-byte limit")
        }
        guard bytes.count >= total else { return .incomplete }
        let body = UnsafeRawBufferPointer(rebasing: bytes[v2FixedBytes..<total])
        let addressBytes: Int
        switch family {
        case 0: addressBytes = 0  // AF_UNSPEC
        case 1: addressBytes = 12  // AF_INET: 4 + 4 + 2 + 2
        case 2: addressBytes = 36  // AF_INET6: 16 + 16 + 2 + 2
        case 3: addressBytes = 216  // AF_UNIX: 108 + 108
        default: return .invalid("PROXY v2 header: unknown address family \(family)")
        }
        guard transport <= 2 else { return .invalid("PROXY v2 header: unknown transport \(transport)") }
        guard body.count >= addressBytes else {
            return .invalid("PROXY v2 header: \(body.count) address bytes, the family needs \(addressBytes)")
        }
        guard tlvsTile(UnsafeRawBufferPointer(rebasing: body[addressBytes...])) else {
            return .invalid("PROXY v2 header: malformed TLV after the addresses")
        }
        let local = ProxyHeader(version: .v2, source: nil, destination: nil)
        // LOCAL: the balancer speaks for itself (health checks); addresses are ignored.
        guard command == 1 else { return .header(local, length: total) }
        guard transport != 2 else { return .invalid("PROXY v2 header for a datagram connection") }
        switch family {
        case 1:
            let source = binaryAddress(body, at: 0, bytes: 4, portAt: 8)
            let destination = binaryAddress(body, at: 4, bytes: 4, portAt: 10)
            return .header(ProxyHeader(version: .v2, source: source, destination: destination), length: total)
        case 2:
            let source = binaryAddress(body, at: 0, bytes: 16, portAt: 32)
            let destination = binaryAddress(body, at: 16, bytes: 16, portAt: 34)
            return .header(ProxyHeader(version: .v2, source: source, destination: destination), length: total)
        default:
            // UNSPEC or UNIX: no IP address to report; the socket's own peer stands.
            return .header(local, length: total)
        }
    }

    /// Whether `bytes` is a sequence of whole type-length-value records.
    private static func tlvsTile(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            guard offset + 3 <= bytes.count else { return false }
            offset += 3 + (Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]))
        }
        return offset == bytes.count
    }

    /// An IPv4 (4 bytes) or IPv6 (16 bytes) address in network order and a big-endian port.
    private static func binaryAddress(
        _ body: UnsafeRawBufferPointer, at offset: Int, bytes count: Int, portAt portOffset: Int
    ) -> SocketAddress {
        let port = Int(body[portOffset]) << 8 | Int(body[portOffset + 1])
        return SocketAddress(addressBytes: body[offset..<offset + count], port: port)
    }

    // MARK: Helpers

    /// Whether the first bytes (as many as there are, up to the pattern's length) match `pattern`.
    private static func matches(_ bytes: UnsafeRawBufferPointer, _ pattern: [UInt8]) -> Bool {
        var index = 0
        while index < min(bytes.count, pattern.count) {
            if bytes[index] != pattern[index] { return false }
            index += 1
        }
        return true
    }

    /// The first few bytes in hex, for error messages: "47 45 54 20 2f 20 48 54".
    private static func preview(_ bytes: UnsafeRawBufferPointer) -> String {
        bytes.prefix(8).map(hex).joined(separator: " ") + (bytes.count > 8 ? " ..." : "")
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return byte < 16 ? "0" + digits : digits
    }
}
