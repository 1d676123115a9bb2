// What both test targets build test data with: a seeded generator, payloads
// derived from a seed, text as bytes, RESP requests and length-prefixed
// frames. A target of its own so the wire tests need nothing else.

import KeelWire

/// A small deterministic generator (SplitMix64) so every randomised test can
/// print its seed and be replayed exactly.
package struct SeededRandom: RandomNumberGenerator {
    package private(set) var state: UInt64

    package init(seed: UInt64) {
        state = seed
    }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Deterministic payload bytes for message `index` of a test (so every echo
/// is checked against exactly what was sent, and messages differ).
package func payload(count: Int, seed: UInt64) -> [UInt8] {
    var random = SeededRandom(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    var index = 0
    while index < count {
        var word = random.next()
        for _ in 0..<8 where index < count {
            bytes[index] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            index += 1
        }
    }
    return bytes
}

/// The UTF-8 bytes of `text`.
package func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A RESP request: an array of bulk strings.
package func multibulk(_ arguments: [[UInt8]]) -> [UInt8] {
    var out = bytes("*\(arguments.count)\r\n")
    for argument in arguments { out += bytes("$\(argument.count)\r\n") + argument + bytes("\r\n") }
    return out
}

/// `payload` framed by `format`'s length field.
package func frame(_ payload: [UInt8], format: FrameFormat) -> [UInt8] {
    var header = [UInt8](repeating: 0, count: format.headerBytes)
    header.withUnsafeMutableBytes { format.encodeLength(payload.count, into: $0.baseAddress!) }
    return header + payload
}

/// A v2 header: signature, version 2 with `command`, family and transport,
/// big-endian length, then `body` (addresses and TLVs).
package func proxyV2(command: UInt8 = 1, family: UInt8 = 1, transport: UInt8 = 1, body: [UInt8]) -> [UInt8] {
    let signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    return signature + [0x20 | command, family << 4 | transport, UInt8(body.count >> 8), UInt8(body.count & 0xFF)]
        + body
}

/// The IPv4 address block of a v2 header: 203.0.113.7:4242 -> 127.0.0.1:7000.
package let proxyV2IPv4Body: [UInt8] = [203, 0, 113, 7, 127, 0, 0, 1, 0x10, 0x92, 0x1B, 0x58]
