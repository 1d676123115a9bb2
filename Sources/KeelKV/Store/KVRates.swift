// KVRates: INFO's instantaneous figures (operations per second, network
// kbps). As redis-server does, one loop samples the running totals every
// 100 ms and INFO reports the average rate over the last 16 samples, so a
// burst shows within a couple of seconds and a single slow tick does not.
// The network totals are Keel's counters, which each loop publishes once
// per statistics interval (1 s by default): over the 1.6 s window their
// rate moves in steps, where redis-server's moves smoothly.

import Synchronization

/// Running totals at one moment.
struct KVRateSample: Sendable {
    var atMs: Int64
    var commands: Int
    var bytesIn: Int
    var bytesOut: Int
}

/// Per-second rates over the sampled window.
struct KVRateFigures: Sendable, Equatable {
    var opsPerSecond = 0
    var inputKbps = 0.0
    var outputKbps = 0.0
}

/// The last samples, and when the next is due (see the file header).
final class KVRates: Sendable {
    /// Samples kept: the window is this many sample intervals.
    static let sampleCount = 16
    static let intervalMs: Int64 = 100

    private struct Ring {
        var samples: [KVRateSample] = []
        var next = 0
    }

    private let ring = Mutex(Ring())
    private let nextDueMs = Atomic<Int64>(0)

    init() {}

    /// Whether a sample is due at `nowMs` (a relaxed read: cheap on each tick).
    @inline(__always)
    func isDue(nowMs: Int64) -> Bool { nowMs >= nextDueMs.load(ordering: .relaxed) }

    /// Keeps `sample`, dropping the oldest once the ring is full.
    func record(_ sample: KVRateSample) {
        nextDueMs.store(sample.atMs + Self.intervalMs, ordering: .relaxed)
        ring.withLock { ring in
            if ring.samples.count < Self.sampleCount {
                ring.samples.append(sample)
            } else {
                ring.samples[ring.next] = sample
            }
            ring.next = (ring.next + 1) % Self.sampleCount
        }
    }

    /// The rates from the oldest sample kept to the newest; zero until two
    /// samples are kept.
    var figures: KVRateFigures {
        ring.withLock { ring in
            guard ring.samples.count >= 2 else { return KVRateFigures() }
            let newest = ring.samples[(ring.next + Self.sampleCount - 1) % Self.sampleCount]
            let oldest = ring.samples.count < Self.sampleCount ? ring.samples[0] : ring.samples[ring.next]
            let spanMs = newest.atMs - oldest.atMs
            guard spanMs > 0 else { return KVRateFigures() }
            let seconds = Double(spanMs) / 1_000
            return KVRateFigures(
                opsPerSecond: Int((Double(newest.commands - oldest.commands) / seconds).rounded()),
                inputKbps: Double(newest.bytesIn - oldest.bytesIn) / seconds / 1_024,
                outputKbps: Double(newest.bytesOut - oldest.bytesOut) / seconds / 1_024)
        }
    }
}
