// KVDigest: a 160-bit fingerprint of values and of the whole keyspace, for
// DEBUG DIGEST and DIGEST-VALUE (tests compare two keys' or two moments'
// digests). Built, as redis-server builds its own, so that it depends on
// what a value holds and not how it is held: a list's elements in order, a
// set's or hash's members in any order (combined by XOR). It is keel-kv's
// own function of ByteHash (seeded per process), so the hex differs from
// redis-server's and from one process to the next; equal values give equal
// digests within a process.

struct KVDigest: Equatable {
    private(set) var a: UInt64 = 0
    private(set) var b: UInt64 = 0
    private(set) var c: UInt64 = 0

    /// All zeros: a missing key, an empty keyspace.
    static let zero = KVDigest()

    /// The digest of a byte string.
    static func of(_ bytes: UnsafeRawBufferPointer) -> KVDigest {
        let hash = ByteHash.hash(bytes)
        return KVDigest(
            a: mix(hash ^ 0x243F_6A88_85A3_08D3), b: mix(hash ^ 0x1319_8A2E_0370_7344),
            c: mix(hash ^ 0xA409_3822_299F_31D0))
    }

    static func of(_ bytes: [UInt8]) -> KVDigest {
        bytes.withUnsafeBytes { of($0) }
    }

    /// Adds `other` where order does not count (set members, hash fields).
    mutating func combine(_ other: KVDigest) {
        a ^= other.a
        b ^= other.b
        c ^= other.c
    }

    /// Appends `other` where order counts (list elements, a field then its
    /// value): the result depends on both and on which came first.
    mutating func append(_ other: KVDigest) {
        a = Self.mix(a &* 0x9E37_79B9_7F4A_7C15 ^ other.a)
        b = Self.mix(b &* 0xC2B2_AE3D_27D4_EB4F ^ other.b)
        c = Self.mix(c &* 0x1656_67B1_9E37_79F9 ^ other.c)
    }

    /// Forty lower-case hex digits.
    var hex: [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(40)
        for (word, nibbles) in [(a, 16), (b, 16), (c, 8)] {
            for shift in stride(from: 60, to: 60 - 4 * nibbles, by: -4) {
                text.append(digits[Int((word >> UInt64(shift)) & 0xF)])
            }
        }
        return text
    }

    /// A 64-bit finalizer (splitmix64's).
    private static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
