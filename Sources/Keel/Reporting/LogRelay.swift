// LogRelay: log records handed to their real handler on a thread of their
// own, through a bounded queue, so that whoever logs never waits for the log
// output.
//
// Why: a log handler may block. StreamLogHandler writes to standard error,
// and a pipe whose reader stops reading (a stalled `| less`, a full log
// collector) blocks every write after 64 KiB; a network log shipper can stall
// the same way. An event loop that logs directly then stops serving every
// connection it owns, and a loop that logs once per connection (debug level)
// or once a second per kind of client error (warnings) gets there quickly.
// Through a relay the loop only appends a record to the queue. When the queue
// is full (the output is not keeping up), records are dropped and counted,
// and a warning with the count follows the records queued before the drops.
//
// The relay's thread can also run a periodic task (the server reports its
// metrics there, so a slow metrics backend cannot stall a loop either).
//
// Invariant: `queue.count <= capacity`; `dropped` counts records refused
// since the last drop warning was handed on.

import Glibc
import Logging

/// A bounded queue of log records and the thread that hands them on.
package final class LogRelay: @unchecked Sendable {
    struct Record {
        let upstream: any LogHandler
        let event: LogEvent
    }

    /// Most records waiting at once; more are dropped and counted.
    package let capacity: Int
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    // Guarded by `mutex`.
    private var queue: [Record] = []
    private var dropped = 0
    private var droppedTotal = 0
    private var writing = false
    private var stopping = false
    private var finished = false
    /// `stop` asked for the periodic task to run once more before the end.
    private var finalPeriodicPending = false
    /// The relay's thread; joined by `stop` once it has finished.
    private var thread: LoopThread?
    private var lastUpstream: (any LogHandler)?
    private let periodicMs: Int
    private let periodic: (@Sendable () -> Void)?

    /// Starts the relay's thread.
    /// - Parameters:
    ///   - capacity: records that may wait at once (default 4,096).
    ///   - name: the thread's name (at most 15 bytes are shown).
    ///   - periodicMs: how often `periodic` runs on the relay's thread.
    ///   - periodic: work that may block and must not run on an event loop.
    package init(
        capacity: Int = 4_096, name: String = "keel-log", periodicMs: Int = 1_000,
        periodic: (@Sendable () -> Void)? = nil
    ) {
        precondition(capacity >= 1 && periodicMs >= 1)
        self.capacity = capacity
        self.periodicMs = periodicMs
        self.periodic = periodic
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        precondition(pthread_mutex_init(mutex, nil) == 0)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(condition, &attributes) == 0)
        pthread_condattr_destroy(&attributes)
        queue.reserveCapacity(capacity)
        let thread = LoopThread(name: name) { [self] in drain() }
        locked { self.thread = thread }
    }

    /// Runs once the thread has ended (it holds the relay until then); a
    /// thread stuck in a handler that never returns keeps it for good.
    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// A log handler that queues every record for `upstream` (which then
    /// runs on the relay's thread). Level and metadata are `upstream`'s.
    package func handler(forwardingTo upstream: any LogHandler) -> any LogHandler {
        RelayedLogHandler(upstream: upstream, relay: self)
    }

    /// A logger like `logger` whose records go through this relay.
    package func relaying(_ logger: Logger) -> Logger {
        let upstream = logger.handler
        return Logger(label: logger.label) { _ in self.handler(forwardingTo: upstream) }
    }

    /// Records dropped so far because the queue was full.
    package var droppedRecords: Int {
        locked { droppedTotal }
    }

    /// Waits until every queued record has been handed on, for at most
    /// `timeoutMs`. Returns whether the queue emptied in time.
    @discardableResult
    package func flush(timeoutMs: Int) -> Bool {
        let deadline = Self.deadline(afterMs: timeoutMs)
        return locked {
            while !queue.isEmpty || writing {
                var until = deadline
                if pthread_cond_timedwait(condition, mutex, &until) == ETIMEDOUT { break }
            }
            return queue.isEmpty && !writing
        }
    }

    /// Runs the periodic task a last time (on the relay's thread), flushes,
    /// and ends the thread, waiting for all of it for at most `timeoutMs`, so
    /// that nothing of the relay outlives the call. A thread stuck in a
    /// handler or metrics backend that never returns is left behind,
    /// detached: only it waits for that call. Records logged afterwards are
    /// dropped.
    package func stop(timeoutMs: Int) {
        let deadline = Self.deadline(afterMs: timeoutMs)
        let thread: LoopThread? = locked {
            stopping = true
            finalPeriodicPending = periodic != nil
            pthread_cond_broadcast(condition)
            while !finished {
                var until = deadline
                if pthread_cond_timedwait(condition, mutex, &until) == ETIMEDOUT { break }
            }
            defer { self.thread = nil }
            return self.thread.flatMap { finished ? $0 : $0.detach() }
        }
        thread?.join()
    }

    func enqueue(_ record: Record) {
        locked {
            guard !stopping, queue.count < capacity else {
                dropped += 1
                droppedTotal += 1
                return
            }
            queue.append(record)
            if queue.count == 1 { pthread_cond_broadcast(condition) }
        }
    }

    /// The relay thread: hands on batches of records, and runs the periodic
    /// task when due, until stopped.
    private func drain() {
        var nextPeriodic = Self.deadline(afterMs: periodicMs)
        var batch: [Record] = []
        batch.reserveCapacity(capacity)
        pthread_mutex_lock(mutex)
        while true {
            while queue.isEmpty && !stopping {
                if periodic == nil {
                    pthread_cond_wait(condition, mutex)
                } else if pthread_cond_timedwait(condition, mutex, &nextPeriodic) == ETIMEDOUT {
                    break
                }
            }
            if queue.isEmpty && stopping && !finalPeriodicPending {
                finished = true
                pthread_cond_broadcast(condition)
                break
            }
            let runFinalPeriodic = queue.isEmpty && finalPeriodicPending
            finalPeriodicPending = finalPeriodicPending && !runFinalPeriodic
            swap(&batch, &queue)
            let droppedNow = dropped
            dropped = 0
            writing = true
            pthread_mutex_unlock(mutex)
            handOn(batch, droppedAfter: droppedNow)
            batch.removeAll(keepingCapacity: true)
            if let periodic, runFinalPeriodic || Self.isPast(nextPeriodic) {
                periodic()
                nextPeriodic = Self.deadline(afterMs: periodicMs)
            }
            pthread_mutex_lock(mutex)
            writing = false
            pthread_cond_broadcast(condition)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Hands on `batch`, then the count of records dropped since the last
    /// batch was taken. Records drop only while the queue is full, and it
    /// empties only when a batch is taken, so every drop counted here came
    /// after every record of this batch: the warning goes where they were.
    private func handOn(_ batch: [Record], droppedAfter droppedCount: Int) {
        for record in batch { record.upstream.log(event: record.event) }
        if let last = batch.last { lastUpstream = last.upstream }
        if droppedCount > 0, let upstream = lastUpstream {
            upstream.log(
                event: LogEvent(
                    level: .warning,
                    message: "\(droppedCount) log messages were dropped: the log output did not keep up",
                    metadata: nil, source: "Keel", file: #fileID, function: #function, line: #line))
        }
    }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    private static func deadline(afterMs milliseconds: Int) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanoseconds = Int(now.tv_nsec) + (milliseconds % 1_000) * 1_000_000
        return timespec(
            tv_sec: now.tv_sec + milliseconds / 1_000 + nanoseconds / 1_000_000_000,
            tv_nsec: nanoseconds % 1_000_000_000)
    }

    private static func isPast(_ deadline: timespec) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)
    }
}

/// Queues records for another handler on a `LogRelay`.
struct RelayedLogHandler: LogHandler {
    var upstream: any LogHandler
    let relay: LogRelay

    var logLevel: Logger.Level {
        get { upstream.logLevel }
        set { upstream.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { upstream.metadata }
        set { upstream.metadata = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { upstream.metadataProvider }
        set { upstream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { upstream[metadataKey: key] }
        set { upstream[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        relay.enqueue(LogRelay.Record(upstream: upstream, event: event))
    }
}
