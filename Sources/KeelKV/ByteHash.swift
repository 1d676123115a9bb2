// ByteHash: a fast 64-bit hash of byte strings, seeded once per process.
//
// Why not Swift's Hasher: it is SipHash fed a byte at a time through
// [UInt8]'s Hashable conformance, several hundred instructions for a short
// key, and it needs a key value to hash, where the store looks keys up by
// the borrowed bytes of a request. This hash takes eight bytes per step and
// ends with a full avalanche. The seed is random per process, so clients
// cannot precompute keys that collide (hash flooding).

import Glibc

/// Seeded 64-bit hashing of byte strings.
public enum ByteHash {
    /// The process's seed: set once, by `prepare()`, before any hashing
    /// (a plain global read per hash; a lazily initialised one would cost
    /// a once-check per call).
    public nonisolated(unsafe) private(set) static var seed: UInt64 = 0

    /// Sets the seed; the first call does, every call after it waits for
    /// that. Call before hashing (the store's init does).
    public static func prepare() {
        _ = seeded
    }

    /// Sets the seed to `value` (the fuzzer's, so that a replay lays keys
    /// out in the same buckets). Only before anything has hashed: the
    /// command table's lookups hash too.
    static func reseed(_ value: UInt64) {
        prepare()
        seed = value | 1
    }

    private static let seeded: Bool = {
        var generator = SystemRandomNumberGenerator()
        seed = generator.next() | 1
        return true
    }()

    /// The hash of `bytes`.
    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var state = seed ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
        guard let base = bytes.baseAddress else { return finalize(state) }
        var offset = 0
        let count = bytes.count
        while offset &+ 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            state = (state ^ (word &* 0xC2B2_AE3D_27D4_EB4F)).rotatedLeft(31) &* 0x9E37_79B9_7F4A_7C15
            offset &+= 8
        }
        if offset < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                tail |= UInt64(base.load(fromByteOffset: offset, as: UInt8.self)) << shift
                shift &+= 8
                offset &+= 1
            }
            state = (state ^ (tail &* 0xC2B2_AE3D_27D4_EB4F)).rotatedLeft(31) &* 0x9E37_79B9_7F4A_7C15
        }
        return finalize(state)
    }

    /// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
    @inlinable
    static func finalize(_ value: UInt64) -> UInt64 {
        var mixed = value
        mixed ^= mixed >> 33
        mixed &*= 0xFF51_AFD7_ED55_8CCD
        mixed ^= mixed >> 33
        mixed &*= 0xC4CE_B9FE_1A85_EC53
        mixed ^= mixed >> 33
        return mixed
    }
}

extension UInt64 {
    @inlinable
    func rotatedLeft(_ bits: UInt64) -> UInt64 {
        (self << bits) | (self >> (64 - bits))
    }
}

/// Whether two byte strings are equal.
@inlinable
func bytesEqual(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
    guard lhs.count == rhs.count else { return false }
    guard let left = lhs.baseAddress, let right = rhs.baseAddress else { return true }
    return memcmp(left, right, lhs.count) == 0
}
