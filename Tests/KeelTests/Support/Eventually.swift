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
