// KVRandom: the store's random numbers (skip list levels, SPOP, RANDOMKEY,
// SRANDMEMBER, active expiry's samples): SplitMix64, seeded once from the
// system. The system generator makes a system call per number.

/// A fast, seeded pseudo-random generator (SplitMix64).
struct KVRandom: RandomNumberGenerator {
    private var state: UInt64

    init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
