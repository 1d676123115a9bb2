// LoadEngine: keel-bench's epoll-driven client, generic over the workload
// (what it sends and how replies are judged: echo of length-prefixed or line
// messages, Redis commands), and specialised for each.
//
// Phases: connect (gradually, at the connect rate), preload (RESP reads:
// write every key first), warm up, measure, drain.
// Closed loop: every connection keeps `pipeline` messages in flight and sends
// the next one as each reply arrives. Open loop: messages leave on a fixed
// schedule (message k at start + k / rate, round-robin over connections),
// and latency is measured from that intended time, so a slow server cannot
// hide its stalls by slowing the sender down (no coordinated omission).
// Every reply is checked by the workload. A mismatch or an error reply ends
// the run at once (the report names the first), unless errors are allowed:
// then they are counted and the run goes on.
//
// The generator and its connections are touched by the generator's one
// thread only, so their stored properties are @exclusivity(unchecked): the
// dynamic exclusivity checks (swift_beginAccess/endAccess and their
// thread-local access set) were about 14% of keel-bench's CPU time at
// 50 connections × 16 pipelined 64-byte messages, where the client's one
// core is the limit of what it can measure.

import COpenSSL
import CShims
import Glibc
import Keel

/// Runs one load against a server with one workload.
final class LoadEngine<Workload: BenchWorkload> {
    enum Phase {
        case connecting, preloading, warmingUp, measuring, draining, done
    }

    let options: BenchOptions
    @exclusivity(unchecked) var workload: Workload
    @exclusivity(unchecked) var decoder: Workload.Decoder
    let pool = BufferPool(memory: .system)
    let progress: (String) -> Void
    let address: SocketAddress
    /// The TLS client context (--tls).
    let tls: BenchTLS?

    @exclusivity(unchecked) var connections: [BenchConnection] = []
    let epollFD: Int32
    let events: UnsafeMutablePointer<epoll_event>
    let eventCapacity: Int32 = 1024
    let readBuffer: UnsafeMutableRawBufferPointer
    @exclusivity(unchecked) var flushList: [Int] = []

    @exclusivity(unchecked) var phase = Phase.connecting
    @exclusivity(unchecked) var result: BenchResult
    @exclusivity(unchecked) var nowNs: Int64 = 0
    @exclusivity(unchecked) var phaseEndNs: Int64 = 0
    @exclusivity(unchecked) var measureStartNs: Int64 = 0
    /// Open loop: when message 0 was due, and how many have been scheduled.
    @exclusivity(unchecked) var scheduleStartNs: Int64 = 0
    @exclusivity(unchecked) var scheduled: UInt64 = 0
    @exclusivity(unchecked) var nextProgressNs: Int64 = 0
    /// `--sleep-until-due`, while the kernel has epoll_pwait2.
    @exclusivity(unchecked) var sleepsUntilDue = false
    @exclusivity(unchecked) var progressMessages = 0
    @exclusivity(unchecked) var openCount = 0
    /// Some sending connection is open (or, in handshake mode, on its way to open again).
    var anySending: Bool {
        connections.contains { !$0.isIdle && (options.handshakes ? $0.state != .closed : $0.state == .open) }
    }
    @exclusivity(unchecked) var failure: BenchError?
    @exclusivity(unchecked) var serverCPUAtStart: Double?
    /// Preload requests sent, and answered.
    @exclusivity(unchecked) var preloadSent = 0
    @exclusivity(unchecked) var preloadAnswered = 0
    /// The run ended at its first mismatch or error reply: requests still
    /// in flight were abandoned, not left unanswered by the server.
    @exclusivity(unchecked) var stoppedAtProblem = false

    /// How long the preload may go without a reply before the run fails.
    static var preloadStallNs: Int64 { 10_000_000_000 }

    /// - Parameter progress: receives a line each second.
    init(options: BenchOptions, workload: Workload, progress: @escaping (String) -> Void) throws {
        self.options = options
        self.progress = progress
        address = SocketAddress(host: options.host, port: options.port)!
        tls = try options.tls.map { try BenchTLS($0) }
        self.workload = workload
        decoder = workload.makeDecoder()
        result = BenchResult(options: options)
        let fd = keel_epoll_create1(keel_EPOLL_CLOEXEC)
        guard fd >= 0 else { throw BenchError(description: "epoll_create1: \(Errno(rawValue: -fd))") }
        epollFD = fd
        events = .allocate(capacity: Int(eventCapacity))
        readBuffer = .allocate(byteCount: 256 << 10, alignment: 16)
        let total = options.connections + options.idleConnections
        connections = (0..<total).map {
            BenchConnection(index: $0, isIdle: $0 >= options.connections, pipeline: options.pipeline)
        }
        flushList.reserveCapacity(total)
    }

    deinit {
        for connection in connections {
            if let ssl = connection.ssl { SSL_free(ssl) }
            if connection.fd >= 0 { Glibc.close(connection.fd) }
            connection.release(pool: pool)
        }
        Glibc.close(epollFD)
        events.deallocate()
        readBuffer.deallocate()
    }

    static func clockNs() -> Int64 { keel_monotonic_ns() }

    /// Runs connect, warm-up, measurement and drain; returns the result.
    public func run() throws -> BenchResult {
        // A sleep of up to a millisecond or so until a message is due ends
        // within a microsecond of it, not the default slack's 50 later (the
        // kernel allows longer sleeps 0.1% of their length; none at a
        // real-time priority). The caller's slack is put back after.
        sleepsUntilDue = options.sleepUntilDue
        let previousSlack = sleepsUntilDue ? keel_set_timer_slack_ns(1_000) : -1
        defer { if previousSlack > 0 { _ = keel_set_timer_slack_ns(UInt(previousSlack)) } }
        nowNs = Self.clockNs()
        let connectStart = nowNs
        nextProgressNs = nowNs + 1_000_000_000
        while phase != .done {
            openDueConnections(since: connectStart)
            advancePhase()
            if phase == .done { break }
            if options.rate != nil && (phase == .warmingUp || phase == .measuring) { sendScheduled() }
            flushPending()
            var ready =
                sleepsUntilDue
                ? keel_epoll_wait_ns(epollFD, events, eventCapacity, waitTimeoutNs())
                : keel_epoll_wait(epollFD, events, eventCapacity, waitTimeoutMs())
            if ready == -ENOSYS && sleepsUntilDue {
                // A kernel before 5.11: millisecond waits, polling the last one.
                sleepsUntilDue = false
                ready = keel_epoll_wait(epollFD, events, eventCapacity, waitTimeoutMs())
            }
            nowNs = Self.clockNs()
            if ready < 0 && ready != -EINTR {
                throw BenchError(description: "epoll_wait: \(Errno(rawValue: -ready))")
            }
            for index in 0..<max(0, Int(ready)) { handle(index) }
            flushPending()
            if let failure { throw failure }
            if result.firstProblem != nil && !options.allowErrors { stopAtFirstProblem() }
            reportProgressIfDue()
        }
        finish()
        return result
    }

    private func waitTimeoutMs() -> Int32 {
        let delta = waitUntilNs() - Self.clockNs()
        // Below a millisecond, poll without blocking: epoll's timeout is in ms.
        return delta < 1_000_000 ? 0 : Int32(clamping: delta / 1_000_000)
    }

    /// `--sleep-until-due`: the wait to the nanosecond (epoll_pwait2).
    private func waitTimeoutNs() -> Int64 {
        max(0, waitUntilNs() - Self.clockNs())
    }

    private func waitUntilNs() -> Int64 {
        // While connecting there is no phase end yet: a millisecond at most.
        var untilNs = phase == .connecting ? min(nextProgressNs, nowNs + 1_000_000) : min(phaseEndNs, nextProgressNs)
        if options.rate != nil && (phase == .warmingUp || phase == .measuring) {
            untilNs = min(untilNs, nextScheduledNs())
        }
        return untilNs
    }

    // MARK: phases

    private func advancePhase() {
        switch phase {
        case .connecting:
            guard connections.allSatisfy({ $0.state == .open || $0.state == .closed }) else { return }
            if workload.preloadCount > 0 {
                phase = .preloading
                phaseEndNs = nowNs + Self.preloadStallNs
                for connection in connections where !connection.isIdle && connection.state == .open {
                    for _ in 0..<Self.preloadPipeline { enqueuePreload(on: connection) }
                }
                return
            }
            startWarmUp()
        case .preloading:
            if preloadAnswered == workload.preloadCount {
                startWarmUp()
            } else if nowNs >= phaseEndNs {
                failure = BenchError(
                    description: "the preload (writing \(workload.preloadCount) keys before the run) got no reply "
                        + "for \(Self.preloadStallNs / 1_000_000_000) s; \(preloadAnswered) answered")
                phase = .done
            }
        case .warmingUp:

            guard nowNs >= phaseEndNs else { return }
            phase = .measuring
            measureStartNs = nowNs
            phaseEndNs = nowNs + Int64(options.durationSeconds * 1e9)
            result.latencyNs.reset()
            result.messages = 0
            result.payloadBytes = 0
            serverCPUAtStart = options.serverPID.flatMap(ProcessCPU.seconds(of:))
        case .measuring:
            guard nowNs >= phaseEndNs else { return }
            result.measuredSeconds = Double(nowNs - measureStartNs) / 1e9
            if let start = serverCPUAtStart {
                if let end = options.serverPID.flatMap(ProcessCPU.seconds(of:)) {
                    result.serverCPUSeconds = end - start
                } else {
                    progress("keel-bench: server CPU not reported: process \(options.serverPID ?? 0) is gone")
                }
            }
            phase = .draining
            phaseEndNs = nowNs + 2_000_000_000
            advancePhase()
        case .draining:
            let inFlight = connections.reduce(0) { $0 + ($1.state == .open ? $1.inFlight : 0) }
            if inFlight == 0 || nowNs >= phaseEndNs { phase = .done }
        case .done:
            break
        }
        if phase != .connecting && phase != .done && !anySending && options.connections > 0 {
            // Every sending connection is gone: nothing left to measure.
            if phase == .measuring { result.measuredSeconds = Double(nowNs - measureStartNs) / 1e9 }
            phase = .done
        }
    }

    private func startWarmUp() {
        phase = .warmingUp
        phaseEndNs = nowNs + Int64(options.warmupSeconds * 1e9)
        scheduleStartNs = nowNs
        if options.handshakes && options.rate != nil {
            // Open loop of handshakes: every connection starts afresh on schedule.
            for connection in connections where !connection.isIdle && connection.state == .open {
                reconnect(connection)
            }
        }
        if options.rate == nil {
            for connection in connections where !connection.isIdle && connection.state == .open {
                for _ in 0..<options.pipeline { enqueueMessage(on: connection, sentAtNs: nowNs) }
            }
        }
        advancePhase()
    }

    /// A mismatch or error reply with errors not allowed: the run ends now,
    /// what was measured so far kept (the report names the problem).
    private func stopAtFirstProblem() {
        if phase == .measuring { result.measuredSeconds = Double(nowNs - measureStartNs) / 1e9 }
        phase = .done
        stoppedAtProblem = true
    }

    private func finish() {
        result.openAtEnd = connections.filter { $0.state == .open }.count
        if !stoppedAtProblem {
            result.unanswered = connections.reduce(0) { $0 + ($1.state == .open ? $1.inFlight : 0) }
            result.silentConnections =
                connections.filter {
                    !$0.isIdle && $0.nextSendSequence > 0 && $0.nextReceiveSequence == 0
                }.count
        }
        for connection in connections where connection.fd >= 0 {
            Glibc.close(connection.fd)
            connection.fd = -1
            connection.state = .closed
        }
    }

    private func reportProgressIfDue() {
        guard nowNs >= nextProgressNs else { return }
        nextProgressNs += 1_000_000_000
        guard options.progress else { return }
        let label: String
        switch phase {
        case .connecting: label = "connecting"
        case .preloading: label = "preloading \(preloadAnswered)/\(workload.preloadCount) keys"
        case .warmingUp: label = "warm-up"
        case .measuring: label = "measuring"
        case .draining, .done: label = "draining"
        }
        let elapsed = phase == .measuring ? Double(nowNs - measureStartNs) / 1e9 : 0
        let p99 = result.latencyNs.totalCount == 0 ? 0 : Double(result.latencyNs.valueAtPercentile(99)) / 1_000
        progress(
            "[\(label) \(format(elapsed, decimals: 0)) s] \(progressMessages) \(options.unit)/s  "
                + "p99 \(format(p99, decimals: 1)) µs  open \(openCount)/\(connections.count)  "
                + "mismatches \(result.mismatches)  error replies \(result.errorReplies)  "
                + "early closes \(result.earlyCloses)")
        progressMessages = 0
    }
}
