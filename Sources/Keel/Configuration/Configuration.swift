// Configuration: every limit Keel enforces, as one value with documented
// defaults, validated once before anything starts (Configuration+Ranges.swift
// holds every field's allowed range and the checks). Units are last in names.

/// The byte format a server with a byte-message handler speaks.
public enum MessageProtocol: String, Sendable, CaseIterable, CustomStringConvertible {
    /// A length field, then that many payload bytes (`Configuration.frame`).
    case length
    /// Lines ended by LF or CRLF; replies end with LF.
    case line

    /// "length" or "line".
    public var description: String { rawValue }
}

/// The readiness mechanism a loop uses.
public enum BackendKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// epoll(7): O(ready) per wakeup; the default.
    case epoll
    /// poll(2): O(connections) per wakeup; portable fallback.
    case poll

    /// "epoll" or "poll".
    public var description: String { rawValue }
}

/// Settings for a Keel server. Every field has a default; `validate()` runs
/// before the server starts and names the first field that breaks a rule.
public struct Configuration: Sendable, Equatable {
    /// Numeric IPv4/IPv6 address to listen on. Default "127.0.0.1".
    public var host = "127.0.0.1"
    /// TCP port; 0 asks the kernel for a free one. Default 5882 (the seeds' port).
    public var port = 5882
    /// listen(2) backlog. Default 1024.
    public var backlog = 1024
    /// Event loops, each on its own thread with its own listener on the same
    /// port (SO_REUSEPORT), slab, buffers and timeout lists. The kernel
    /// spreads new connections across the listeners. Default 1.
    public var threads = 1
    /// Readiness mechanism. Default epoll.
    public var backend = BackendKind.epoll
    /// TLS: when set, connections on `port` speak TLS, unless `tlsPort` is
    /// set too, and then `port` serves plaintext and `tlsPort` TLS (as
    /// redis-server's `port` and `tls-port`). Default nil: plaintext only.
    public var tls: TLSConfiguration? = nil
    /// A second port, serving TLS with `tls`, beside plaintext on `port`;
    /// 0 asks the kernel for a free one. Needs `tls`. Default nil.
    public var tlsPort: Int? = nil
    /// The PROXY protocol header every accepted connection must begin with,
    /// when Keel runs behind a load balancer such as HAProxy. Default off.
    public var proxyProtocol = ProxyProtocol.off
    /// Register client sockets edge-triggered (epoll only): each readiness
    /// is then read until EAGAIN, within `maxReadsPerWake`. Default off.
    public var edgeTriggered = false
    /// In edge-triggered mode, the most reads one connection gets per
    /// wakeup; a connection with data left is revisited on the next
    /// iteration, so one busy client cannot starve the others. Default 16.
    public var maxReadsPerWake = 16
    /// In edge-triggered mode, the most writes one connection gets per
    /// wakeup; a connection with output left is revisited on the next
    /// iteration. Default 16.
    public var maxWritesPerWake = 16
    /// Most connections open at once, in total over all loops (each loop
    /// may hold all of them: its slab has this many slots). At the limit the
    /// listeners are switched off and new connections wait in the kernel's
    /// backlog until one closes, unless `clientLimitReply` is set. Default 4096.
    public var maxClients = 4096
    /// What a connection over `maxClients` is told: nil (the default) keeps
    /// it waiting in the backlog; bytes make the loop accept it, write them
    /// (once, without waiting; nothing on a TLS port) and close it at once,
    /// as redis-server does with `-ERR max number of clients reached`.
    /// Counted as `rejected` in the statistics.
    public var clientLimitReply: [UInt8]?
    /// Largest payload accepted; a frame announcing more closes its
    /// connection. Clamped to what `frame` can announce. Default 1 MiB.
    public var maxMessageBytes = 1 << 20
    /// The byte format of a server whose handler receives message bytes
    /// (`Server(configuration:makeHandler:)`): length-prefixed frames or
    /// lines. Servers given a format of their own ignore it. Default length.
    public var messageProtocol = MessageProtocol.length
    /// Length-prefix layout. Default u32le (the seeds' format).
    public var frame = FrameFormat.u32le
    /// A connection that sends no complete message for this long is closed;
    /// nil never closes an idle connection (redis-server's `timeout 0`).
    /// Default 60 s.
    public var idleTimeoutMs: Int? = 60_000
    /// When set, a connection must send its first complete message within
    /// this time (usually shorter than the idle timeout). Default off.
    public var firstMessageTimeoutMs: Int? = nil
    /// A connection whose pending output makes no progress for this long is
    /// closed. Default 30 s.
    public var writeTimeoutMs = 30_000
    /// Above this much pending output a connection is no longer read from.
    /// Default 1 MiB.
    public var outputHighWatermarkBytes = 1 << 20
    /// Reading resumes once pending output drains below this. Default 256 KiB.
    public var outputLowWatermarkBytes = 256 << 10
    /// Pending output beyond which a connection is closed when more output it
    /// did not ask for arrives: sends from other connections' handlers, from
    /// other threads, from ticks or from `connectionOpened` (a subscriber
    /// that stops reading). Replies to a connection's own requests are not
    /// capped: one reply may be as large as the data it carries, and a peer
    /// that does not read cannot request more, as reading stops above the
    /// high watermark. Default 16 MiB.
    public var maxPendingOutputBytes = 16 << 20
    /// Size of the loop-wide read buffer: the most one read(2) takes. Default 64 KiB.
    public var readBufferBytes = 64 << 10
    /// Size of the loop-wide buffer that gathers the replies to one read
    /// for one write; replies past it queue on the connection. nil (the
    /// default): `readBufferBytes` + 64, an echo of a whole read. A server
    /// whose replies outgrow its requests (a store's range reads) sets more.
    public var outputStagingBytes: Int? = nil
    /// Most events taken per wait. Default 1024.
    public var maxEventsPerWait = 1024
    /// After an iteration that served a connection, the loop keeps polling
    /// (a wait with a zero timeout) for this many microseconds before it
    /// blocks again. A blocked loop must be woken when the next message
    /// arrives (on a virtual machine, its idle core as well), which adds
    /// microseconds to every round trip; a polling loop sees the message at
    /// once. The price is a core kept busy while traffic flows: an idle loop
    /// still sleeps once the window passes. For latency-sensitive services
    /// with a core to spare per loop. Default 0: never poll.
    public var busyPollUs = 0
    /// Memory the loop keeps for reuse by connection buffers. Default 4 MiB.
    public var bufferPoolRetainedBytes = 4 << 20
    /// Once no connection buffer has been taken for this long and none is in
    /// use, the loop frees its pool and asks malloc to return free pages to
    /// the kernel, so resident memory falls back after a burst. `nil` keeps
    /// the memory. Default 1 s.
    public var releaseMemoryAfterQuietMs: Int? = 1_000
    /// After a graceful close (a handler's close, shutdown), how long Keel
    /// keeps reading and discarding input while the peer takes the last
    /// replies. Closing with unread input would make the kernel answer with
    /// RST, which destroys replies still in flight. Default 2 s.
    public var lingerTimeoutMs = 2_000
    /// On shutdown, how long pending output may take to drain. Default 5 s.
    public var shutdownTimeoutMs = 5_000
    /// When accept fails for lack of descriptors or memory, how long the
    /// listener stays off before Keel tries again. Default 100 ms.
    public var acceptPauseMs = 100
    /// Commands (sends, closes by ConnectionID) other threads may queue for
    /// one loop before posting fails with `.queueFull`. Default 65536.
    public var mailboxCapacity = 65_536
    /// Payload bytes other threads may queue for one loop. Default 64 MiB.
    public var mailboxBytesLimit = 64 << 20
    /// How often each loop publishes its counters (Server.statistics(),
    /// swift-metrics). Default 1 s.
    public var statisticsIntervalMs = 1_000
    #if DEBUG
        // Test machinery: compiled into debug builds (the tests) only.

        /// Wrap the backend in a FaultInjectingBackend with this plan.
        var faultPlan: FaultPlan? = nil
        /// False sends an echoing handler's messages through
        /// `messageReceived` too, so the suites cover both paths.
        var echoInPlace = true
        /// Check every core structure's invariants after each loop
        /// iteration, and publish the loop's internal gauges (buffered
        /// bytes, timeout list members, listener state): O(maxClients) per
        /// iteration.
        @usableFromInline var checkInvariantsEveryIteration = false
    #endif

    /// The defaults above.
    public init() {}

    /// The largest message actually accepted: `maxMessageBytes`, clamped
    /// to what the frame format can announce (length-prefixed messages).
    public var effectiveMaxMessageBytes: Int {
        messageProtocol == .line ? maxMessageBytes : lengthPrefixFormat.maxMessageBytes
    }

    /// The length-prefix format this configuration describes.
    @inlinable
    public var lengthPrefixFormat: LengthPrefixFormat {
        LengthPrefixFormat(frame: frame, maxMessageBytes: maxMessageBytes)
    }
}
