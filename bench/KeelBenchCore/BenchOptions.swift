// BenchOptions: one load-generator run, validated.

import Keel

/// How keel-bench loads a server.
public struct BenchOptions: Sendable {
    /// Server address (numeric).
    public var host = "127.0.0.1"
    /// Server port.
    public var port = 5882
    /// Connections that send messages.
    public var connections = 50
    /// Connections opened and held without sending (to load the server with idle clients).
    public var idleConnections = 0
    /// New connections per second while connecting.
    public var connectRate = 2_000.0
    /// How long one connect may take.
    public var connectTimeoutSeconds = 5.0
    /// Closed loop: messages in flight per connection.
    public var pipeline = 1
    /// Open loop: messages per second in total, on a fixed schedule (nil: closed loop).
    public var rate: Double? = nil
    /// Payload sizes.
    public var sizes = SizeRange(minimum: 64, maximum: 64)
    /// Measured seconds, after the warm-up.
    public var durationSeconds = 10.0
    /// Seconds of load before measuring starts.
    public var warmupSeconds = 2.0
    /// Length-field layout, as the server's.
    public var frame = FrameFormat.u32le
    /// Print a progress line every second (to standard error).
    public var progress = true
    /// When set, the server's CPU time over the measured window is read from
    /// /proc/PID/stat and reported per message.
    public var serverPID: Int32? = nil

    /// The defaults above.
    public init() {}

    /// Every rule broken, as messages naming the flag; empty when valid.
    public func problems() -> [String] {
        var problems: [String] = []
        if SocketAddress(host: host, port: port) == nil {
            problems.append("--host '\(host)' is not a numeric IPv4 or IPv6 address")
        }
        if !(1...65_535).contains(port) { problems.append("--port must be in 1...65535 (got \(port))") }
        if connections < 0 { problems.append("--conns must not be negative (got \(connections))") }
        if idleConnections < 0 { problems.append("--idle-conns must not be negative (got \(idleConnections))") }
        if connections + idleConnections < 1 { problems.append("--conns plus --idle-conns must be at least 1") }
        if !(connectRate > 0) { problems.append("--connect-rate must be positive (got \(connectRate))") }
        if !(connectTimeoutSeconds > 0) { problems.append("--connect-timeout must be positive") }
        if pipeline < 1 { problems.append("--pipeline must be at least 1 (got \(pipeline))") }
        if let rate {
            if !(rate > 0) { problems.append("--rate must be positive (got \(rate))") }
            if pipeline != 1 { problems.append("--rate (open loop) and --pipeline (closed loop) exclude each other") }
            if connections < 1 { problems.append("--rate needs at least one sending connection (--conns)") }
        }
        if !(durationSeconds > 0) { problems.append("--duration must be positive (got \(durationSeconds))") }
        if !(warmupSeconds >= 0) { problems.append("--warmup must not be negative (got \(warmupSeconds))") }
        if UInt64(sizes.maximum) > frame.largestLength {
            problems.append("--size \(sizes) does not fit the \(frame) length field (at most \(frame.largestLength))")
        }
        if sizes.maximum > 64 << 20 { problems.append("--size must be at most 64 MiB") }
        return problems
    }

    /// "50 conns × pipeline 16 × 64 B" or "10 conns × 20000 msg/s (open loop) × 64 B"
    public var summary: String {
        let load = rate.map { "\(Int($0)) msg/s (open loop)" } ?? "pipeline \(pipeline)"
        let idle = idleConnections > 0 ? " (+\(idleConnections) idle)" : ""
        return "\(connections) conns\(idle) × \(load) × \(sizes) B"
    }
}
