// BenchResult: what a run measured, and its text and JSON reports.

import Histogram

/// The measured outcome of one run.
public struct BenchResult: Sendable {
    /// The options of the run.
    public var options: BenchOptions
    /// Seconds actually measured (after the warm-up).
    public var measuredSeconds = 0.0
    /// Replies received and verified while measuring.
    public var messages = 0
    /// Replies received in every phase (warm-up and drain included).
    public var totalMessages = 0
    /// Payload bytes of those replies.
    public var payloadBytes = 0
    /// Latency of each measured reply, in nanoseconds.
    public var latencyNs = Histogram<UInt64>(
        highestTrackableValue: 120_000_000_000, numberOfSignificantValueDigits: .three)
    /// Replies that are not what their request must get (echo: bytes that
    /// differ from what was sent; RESP: the wrong type, a wrong value), and
    /// bytes that are no reply at all.
    public var mismatches = 0
    /// RESP error replies (`-ERR ...`).
    public var errorReplies = 0
    /// The first mismatch or error reply, described.
    public var firstProblem: String? = nil
    /// Connections the server closed (or reset) while they were in use.
    public var earlyCloses = 0
    /// Other failures (connect errors, socket errors).
    public var errors = 0
    /// Connections open when the run ended.
    public var openAtEnd = 0
    /// Messages still unanswered when the run ended (after draining for up
    /// to 2 s): a server that stops answering fails the run.
    public var unanswered = 0
    /// Connections that were sent messages but never received a reply in
    /// the whole run (e.g. left waiting in a full server's backlog).
    public var silentConnections = 0
    /// Open loop: messages not sent because the run fell too far behind its
    /// schedule (the generator or the server could not keep up with --rate).
    public var skipped = 0
    /// The server's CPU seconds (user + system) over the measured window,
    /// when --server-pid was given.
    public var serverCPUSeconds: Double? = nil

    /// Server CPU microseconds per measured message.
    public var serverCPUMicrosecondsPerMessage: Double? {
        guard let cpu = serverCPUSeconds, messages > 0 else { return nil }
        return cpu * 1e6 / Double(messages)
    }

    /// An empty result for a run with `options`.
    public init(options: BenchOptions) {
        self.options = options
        latencyNs.autoResize = true
    }

    /// Measured replies per second.
    public var messagesPerSecond: Double { measuredSeconds > 0 ? Double(messages) / measuredSeconds : 0 }
    /// Payload megabytes (10^6) per second, in each direction.
    public var megabytesPerSecond: Double {
        measuredSeconds > 0 ? Double(payloadBytes) / measuredSeconds / 1e6 : 0
    }

    /// Latency at `percentile` (0...100) in microseconds.
    public func latencyMicroseconds(_ percentile: Double) -> Double {
        latencyNs.totalCount == 0 ? 0 : Double(latencyNs.valueAtPercentile(percentile)) / 1_000
    }

    /// The largest latency recorded, in microseconds.
    public var maxLatencyMicroseconds: Double {
        latencyNs.totalCount == 0 ? 0 : Double(latencyNs.max) / 1_000
    }

    /// True when nothing went wrong: no mismatch or error reply (unless
    /// errors are allowed), no early close, no error, every message
    /// answered, every sending connection answered at least once.
    public var isClean: Bool {
        (options.allowErrors || (mismatches == 0 && errorReplies == 0)) && earlyCloses == 0 && errors == 0
            && unanswered == 0 && silentConnections == 0 && skipped == 0
    }

    static let reportedPercentiles: [(String, Double)] = [
        ("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9),
    ]

    /// The human-readable report.
    public var text: String {
        func us(_ value: Double) -> String { format(value, decimals: value < 100 ? 1 : 0) + " µs" }
        let percentiles = Self.reportedPercentiles.map { "\($0.0) \(us(latencyMicroseconds($0.1)))" }
        return """
            keel-bench: \(options.summary), \(format(measuredSeconds, decimals: 1)) s measured after \
            \(format(options.warmupSeconds, decimals: 1)) s warm-up
              \(options.handshakes ? "handshakes" : options.unit == "req" ? "requests " : "messages ")    \(messages) \
            (\(format(messagesPerSecond, decimals: 0)) \(options.unit)/s)
              throughput   \(format(megabytesPerSecond, decimals: 2)) MB/s of \(options.unit == "req" ? "values" : "payload each way")
              \(options.handshakes ? "handshake" : "latency  ")    \(percentiles.joined(separator: "  "))  max \(us(maxLatencyMicroseconds))
              errors \(errors)  mismatches \(mismatches)  error replies \(errorReplies)  early closes \(earlyCloses)  \
            unanswered \(unanswered)  silent connections \(silentConnections)  skipped \(skipped)
            """
                + (firstProblem.map { "\n  first problem: \($0)" } ?? "")
                + (serverCPUSeconds.map { cpu in
                    "\n  server CPU   \(format(cpu, decimals: 2)) s, "
                        + "\(format(serverCPUMicrosecondsPerMessage ?? 0, decimals: 3)) µs per "
                        + (options.unit == "req" ? "request" : "message")
                } ?? "")
    }

    /// One JSON object with every number of the report.
    public var json: String {
        var latency = Self.reportedPercentiles.map { name, percentile in
            "\"\(name.replacing(".", with: ""))\": \(format(latencyMicroseconds(percentile), decimals: 1))"
        }
        latency.append("\"max\": \(format(maxLatencyMicroseconds, decimals: 1))")
        latency.append("\"mean\": \(format(latencyNs.totalCount == 0 ? 0 : latencyNs.mean / 1_000, decimals: 1))")
        let fields = [
            "\"connections\": \(options.connections)",
            "\"idle_connections\": \(options.idleConnections)",
            "\"pipeline\": \(options.rate == nil ? "\(options.pipeline)" : "null")",
            "\"rate\": \(options.rate.map { format($0, decimals: 0) } ?? "null")",
            "\"size\": \"\(options.sizes)\"",
            "\"protocol\": \"\(options.wireProtocol.rawValue)\"",
            "\"frame\": \(options.wireProtocol == .length ? "\"\(options.frame)\"" : "null")",
            "\"command\": \(options.wireProtocol == .resp ? jsonString(options.command.description) : "null")",
            "\"keyspace\": \(options.wireProtocol == .resp ? "\(options.keyspace)" : "null")",
            "\"warmup_s\": \(format(options.warmupSeconds, decimals: 3))",
            "\"duration_s\": \(format(measuredSeconds, decimals: 3))",
            "\"messages\": \(messages)",
            "\"total_messages\": \(totalMessages)",
            "\"msgs_per_s\": \(format(messagesPerSecond, decimals: 1))",
            "\"mb_per_s\": \(format(megabytesPerSecond, decimals: 3))",
            "\"latency_us\": {\(latency.joined(separator: ", "))}",
            "\"errors\": \(errors)",
            "\"mismatches\": \(mismatches)",
            "\"error_replies\": \(errorReplies)",
            "\"first_problem\": \(firstProblem.map(jsonString) ?? "null")",
            "\"early_closes\": \(earlyCloses)",
            "\"unanswered\": \(unanswered)",
            "\"silent_connections\": \(silentConnections)",
            "\"skipped\": \(skipped)",
            "\"open_at_end\": \(openAtEnd)",
            "\"server_cpu_s\": \(serverCPUSeconds.map { format($0, decimals: 3) } ?? "null")",
            "\"server_cpu_us_per_msg\": \(serverCPUMicrosecondsPerMessage.map { format($0, decimals: 4) } ?? "null")",
        ]
        return "{" + fields.joined(separator: ", ") + "}"
    }
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// Fixed-point formatting without Foundation.
func format(_ value: Double, decimals: Int) -> String {
    guard value.isFinite else { return "0" }
    if decimals == 0 { return String(Int(value.rounded())) }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = Int((abs(value) * scale).rounded())
    let whole = scaled / Int(scale)
    var fraction = String(scaled % Int(scale))
    while fraction.count < decimals { fraction = "0" + fraction }
    return (value < 0 && scaled != 0 ? "-" : "") + "\(whole).\(fraction)"
}
