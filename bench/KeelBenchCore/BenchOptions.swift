// BenchOptions: one load-generator run, validated.

import Keel

/// How keel-bench loads a server.
public struct BenchOptions: Sendable {
    /// Server address (numeric).
    public var host = "127.0.0.1"
    /// TLS (--tls), and how the server's certificate is checked; nil: plaintext.
    public var tls: BenchTLSVerification? = nil
    /// Server port.
    public var port = 5882
    /// Handshake mode (--handshakes, with TLS): every exchange is a new
    /// connection: connect, handshake, one request, its reply, close.
    /// Latency is the connect and handshake's; the rate is handshakes/s.
    /// With `rate`, connections start on schedule (each of `connections`
    /// takes the next start once its exchange is done; a start due while
    /// all are busy is skipped), and latency runs from the start's due time.
    public var handshakes = false
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
    /// Open loop: wait for the next due message in the kernel, to the
    /// nanosecond, rather than polling once it is under a millisecond away
    /// (a probe at a low rate that shares a core then takes none between
    /// messages; it may start a message a few microseconds late).
    public var sleepUntilDue = false
    /// Payload sizes.
    public var sizes = SizeRange(minimum: 64, maximum: 64)
    /// Measured seconds, after the warm-up.
    public var durationSeconds = 10.0
    /// Seconds of load before measuring starts.
    public var warmupSeconds = 2.0
    /// The server's wire format.
    public var wireProtocol = BenchProtocol.length
    /// Length-field layout, as the server's (`length` only).
    public var frame = FrameFormat.u32le
    /// What a RESP run sends (`resp` only).
    public var command = try! RESPWorkloadSpec(command: "ping")
    /// Keys a RESP run draws from (`__rand__`), and writes first when it reads.
    public var keyspace = 100_000
    /// Count mismatches and error replies and go on, instead of ending the
    /// run at the first (which fails it).
    public var allowErrors = false
    /// Print a progress line every second (to standard error).
    public var progress = true
    /// When set, the server's CPU time over the measured window is read from
    /// /proc/PID/stat and reported per message.
    public var serverPID: Int32? = nil

    /// The defaults above.
    public init() {}

    /// The longest --duration or --warmup: long enough for any soak, short
    /// enough that nanosecond arithmetic on it stays far from overflow.
    public static let longestSeconds = 1_000_000.0

    /// Every rule broken, as messages naming the flag; empty when valid.
    /// Each number is checked against a closed range (NaN, infinities and
    /// values that would overflow a later conversion are refused here).
    public func problems() -> [String] {
        var problems: [String] = []
        func require(_ value: Double, in range: ClosedRange<Double>, _ flag: String, unit: String) {
            if !(value.isFinite && range.contains(value)) {
                problems.append(
                    "\(flag) must be in \(text(range.lowerBound))...\(text(range.upperBound)) \(unit) (got \(value))")
            }
        }
        func require(_ value: Int, in range: ClosedRange<Int>, _ flag: String) {
            if !range.contains(value) {
                problems.append("\(flag) must be in \(range.lowerBound)...\(range.upperBound) (got \(value))")
            }
        }
        if SocketAddress(host: host, port: 0) == nil {
            problems.append("--host '\(host)' is not a numeric IPv4 or IPv6 address")
        }
        require(port, in: 1...65_535, "--port")
        require(connections, in: 1...1_000_000, "--conns")
        require(idleConnections, in: 0...1_000_000, "--idle-conns")
        require(connectRate, in: 1...10_000_000, "--connect-rate", unit: "connections per second")
        require(connectTimeoutSeconds, in: 0.001...3_600, "--connect-timeout", unit: "seconds")
        require(pipeline, in: 1...65_536, "--pipeline")
        if let rate {
            require(rate, in: 0.01...1_000_000_000, "--rate", unit: "messages per second")
            if pipeline != 1 { problems.append("--rate (open loop) and --pipeline (closed loop) exclude each other") }
        } else if sleepUntilDue {
            problems.append("--sleep-until-due needs --rate (open loop)")
        }
        require(durationSeconds, in: 0.001...Self.longestSeconds, "--duration", unit: "seconds")
        require(warmupSeconds, in: 0...Self.longestSeconds, "--warmup", unit: "seconds")
        require(keyspace, in: 1...999_999_999_999, "--keyspace")
        if wireProtocol == .length && UInt64(sizes.maximum) > frame.largestLength {
            problems.append("--size \(sizes) does not fit the \(frame) length field (at most \(frame.largestLength))")
        }
        if sizes.maximum > 64 << 20 { problems.append("--size must be at most 64 MiB") }
        if handshakes {
            if tls == nil { problems.append("--handshakes needs --tls") }
            if pipeline != 1 { problems.append("--handshakes makes one request per connection (no --pipeline)") }
        }
        if let serverPID, ProcessCPU.seconds(of: serverPID) == nil {
            problems.append(
                "--server-pid \(serverPID): no such process on this machine (cannot read /proc/\(serverPID)/stat)")
        }
        return problems
    }

    private func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))" : "\(value)"
    }

    /// What one exchange is called in reports: "msg" (echo) or "req" (RESP).
    public var unit: String { handshakes ? "handshake" : wireProtocol == .resp ? "req" : "msg" }

    /// "50 conns × pipeline 16 × 64 B", "10 conns × 20000 msg/s (open loop) × 64 B",
    /// "50 conns × pipeline 1 × resp SET key:__rand__ __data__ (100000 keys) × 3 B"
    public var summary: String {
        let load =
            handshakes
            ? "a new connection per request" : rate.map { "\(Int($0)) \(unit)/s (open loop)" } ?? "pipeline \(pipeline)"
        let idle = idleConnections > 0 ? " (+\(idleConnections) idle)" : ""
        let what: String
        switch wireProtocol {
        case .length: what = ""
        case .line: what = " × lines"
        case .resp:
            let keys = command.entries.contains { $0.command.drawsKeys } ? " (\(keyspace) keys)" : ""
            what = " × resp \(command)\(keys)"
        }
        return "\(connections) conns\(idle) × \(load)\(what) × \(sizes) B" + (tls == nil ? "" : " over TLS")
    }
}
