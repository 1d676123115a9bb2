// Polling helpers with generous bounds: tests wait for a state, they never
// assert how fast it arrives (the machine may be loaded).

import Glibc

/// Polls `condition` every 5 ms for up to `seconds`; returns whether it held.
func eventually(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + seconds
    while monotonicSeconds() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Deterministic payload bytes for message `index` of a test (so every echo
/// is checked against exactly what was sent, and messages differ).
func payload(count: Int, seed: UInt64) -> [UInt8] {
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
