// BenchConnection: one client connection of the load generator.

import Keel

final class BenchConnection {
    enum State {
        case waiting, connecting, open, closed
    }

    let index: Int
    /// Idle connections are opened and held, never used.
    let isIdle: Bool
    var fd: Int32 = -1
    var state = State.waiting
    var connectDeadlineNs: Int64 = 0
    /// Write interest is registered (output is pending).
    var writeArmed = false
    var input = RingBuffer()
    var output = RingBuffer()
    var nextSendSequence: UInt64 = 0
    var nextReceiveSequence: UInt64 = 0
    /// Send time (closed loop) or intended send time (open loop) of each
    /// message in flight, oldest first.
    var sendTimes: TimestampQueue
    /// On the list of connections to flush this iteration.
    var flushQueued = false

    init(index: Int, isIdle: Bool, pipeline: Int) {
        self.index = index
        self.isIdle = isIdle
        sendTimes = TimestampQueue(capacity: max(pipeline, 16))
    }

    var inFlight: Int { sendTimes.count }

    func release(pool: BufferPool) {
        input.removeAll(pool: pool)
        output.removeAll(pool: pool)
    }
}
