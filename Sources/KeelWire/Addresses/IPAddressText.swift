// IPAddressText: numeric IPv4 and IPv6 addresses as text, read into their
// network-order bytes and written back in the canonical form, in plain Swift.
//
// Why here and not inet_pton(3)/inet_ntop(3): the wire layer (the PROXY
// parser above all) must not need the C library, so that it builds and is
// fuzzed on its own. The rules are glibc's, which Keel used before and which
// the tests compare against on every input they try: IPv4 is four decimal
// octets without leading zeros; IPv6 is eight hex groups of one to four
// digits, one "::" standing for one or more zero groups, and an optional
// dotted IPv4 tail; output compresses the first longest run of two or more
// zero groups and prints IPv4-compatible and IPv4-mapped addresses with a
// dotted tail.

/// Numeric IP address text: parsing and canonical formatting.
package enum IPAddressText {
    /// The 4 bytes of a dotted-decimal IPv4 address, or nil.
    package static func ipv4Bytes(_ text: some StringProtocol) -> [UInt8]? {
        ipv4Bytes(utf8: Array(text.utf8)[...])
    }

    /// The 16 bytes of an IPv6 address, or nil.
    package static func ipv6Bytes(_ text: some StringProtocol) -> [UInt8]? {
        let characters = Array(text.utf8)
        var groups: [UInt16] = []
        // Where "::" stands: the number of groups written before it.
        var gap: Int?
        var index = 0
        if characters.starts(with: [colon, colon]) {
            gap = 0
            index = 2
        } else if characters.first == colon {
            return nil
        }
        while index < characters.count {
            var end = index
            var value = 0
            while end < characters.count, let digit = hexValue(characters[end]), end - index < 5 {
                value = value << 4 | digit
                end += 1
            }
            if end < characters.count && characters[end] == dot {
                // A dotted IPv4 tail: two groups, and the end of the text.
                guard let tail = ipv4Bytes(utf8: characters[index...]) else { return nil }
                groups.append(UInt16(tail[0]) << 8 | UInt16(tail[1]))
                groups.append(UInt16(tail[2]) << 8 | UInt16(tail[3]))
                index = characters.count
                break
            }
            guard end > index, end - index <= 4 else { return nil }
            groups.append(UInt16(value))
            index = end
            guard index < characters.count else { break }
            guard characters[index] == colon else { return nil }
            index += 1
            if index < characters.count && characters[index] == colon {
                guard gap == nil else { return nil }
                gap = groups.count
                index += 1
            } else if index == characters.count {
                return nil  // a single trailing colon
            }
        }
        if let gap {
            // "::" stands for at least one group.
            guard groups.count <= 7 else { return nil }
            groups.insert(contentsOf: repeatElement(0, count: 8 - groups.count), at: gap)
        }
        guard groups.count == 8 else { return nil }
        return groups.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// "192.0.2.1" for 4 bytes in network order.
    package static func ipv4Text(_ bytes: some Collection<UInt8>) -> String {
        precondition(bytes.count == 4, "an IPv4 address has 4 bytes")
        return bytes.map(String.init).joined(separator: ".")
    }

    /// The canonical text of 16 bytes in network order, e.g. "2001:db8::1",
    /// "::ffff:192.0.2.1".
    package static func ipv6Text(_ bytes: some Collection<UInt8>) -> String {
        precondition(bytes.count == 16, "an IPv6 address has 16 bytes")
        let octets = Array(bytes)
        let groups = (0..<8).map { UInt16(octets[2 * $0]) << 8 | UInt16(octets[2 * $0 + 1]) }
        let run = longestZeroRun(groups)
        var text = ""
        var index = 0
        while index < 8 {
            if let run, index == run.lowerBound {
                text += "::"
                index = run.upperBound
                continue
            }
            if index == 6, let run, run.lowerBound == 0,
                run.count == 6 || (run.count == 5 && groups[5] == 0xFFFF)
            {
                return text + (text.hasSuffix(":") ? "" : ":") + ipv4Text(octets[12...])
            }
            if index > 0 && !text.hasSuffix(":") { text += ":" }
            text += String(groups[index], radix: 16)
            index += 1
        }
        return text
    }

    // MARK: Helpers

    private static let colon = UInt8(ascii: ":")
    private static let dot = UInt8(ascii: ".")

    /// Dotted decimal over the whole of `characters`.
    private static func ipv4Bytes(utf8 characters: ArraySlice<UInt8>) -> [UInt8]? {
        var octets: [UInt8] = []
        var value = -1  // -1: no digit yet in this octet
        for character in characters {
            if character == dot {
                guard value >= 0, octets.count < 3 else { return nil }
                octets.append(UInt8(value))
                value = -1
                continue
            }
            guard character >= UInt8(ascii: "0") && character <= UInt8(ascii: "9") else { return nil }
            guard value != 0 else { return nil }  // a leading zero
            value = max(value, 0) * 10 + Int(character - UInt8(ascii: "0"))
            guard value <= 255 else { return nil }
        }
        guard value >= 0, octets.count == 3 else { return nil }
        octets.append(UInt8(value))
        return octets
    }

    private static func hexValue(_ character: UInt8) -> Int? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(character - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(character - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(character - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }

    /// The first longest run of two or more zero groups.
    private static func longestZeroRun(_ groups: [UInt16]) -> Range<Int>? {
        var best: Range<Int>?
        var start: Int?
        for index in 0...groups.count {
            if index < groups.count && groups[index] == 0 {
                if start == nil { start = index }
            } else if let begun = start {
                if begun + 1 < index && index - begun > (best?.count ?? 0) { best = begun..<index }
                start = nil
            }
        }
        return best
    }
}
