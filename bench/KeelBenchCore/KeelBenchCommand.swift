// keel-bench's command line: flags -> BenchOptions -> LoadGenerator -> reports.

import ArgumentParser
import Glibc
import Keel

/// keel-bench's flags and entry point.
public struct KeelBenchCommand: ParsableCommand {
    /// Name, abstract and discussion shown by --help.
    public static let configuration = CommandConfiguration(
        commandName: "keel-bench",
        abstract: "Load generator for echo servers (length-prefixed or line) and Redis-compatible servers.",
        discussion: """
            Closed loop (--pipeline D): every connection keeps D requests in flight. Open loop \
            (--rate R): R requests per second in total leave on a fixed schedule, and latency is \
            measured from each request's intended send time, so a server's stall shows in the \
            percentiles (no coordinated omission). Every reply is checked: echoes byte for byte; \
            RESP replies by type, and values read back against the values written. A mismatch or \
            error reply ends the run with exit status 1 (--allow-errors counts them and goes on); \
            early closes, errors and unanswered requests make the exit status 1.
            """)

    @Option(help: "Server address (numeric IPv4 or IPv6).") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 5882
    @Flag(help: "Speak TLS (needs --tls-ca or --tls-insecure).") var tls = false
    @Option(help: "TLS: verify the server's certificate against this CA file (PEM).") var tlsCa: String?
    @Flag(help: "TLS: do not verify the server's certificate.") var tlsInsecure = false
    @Flag(
        help: """
            TLS handshake mode: each request on a new connection (connect, handshake, request, reply, close), \
            --conns at a time, or started at --rate per second; reports handshakes/s and the connect-and-handshake \
            latency.
            """)
    var handshakes = false
    @Option(help: "Connections that send messages.") var conns = 50
    @Option(help: "Extra connections opened and held without sending.") var idleConns = 0
    @Option(help: "New connections per second while connecting.") var connectRate = 2_000.0
    @Option(help: "Seconds one connect may take.") var connectTimeout = 5.0
    @Option(help: "Closed loop: messages in flight per connection.") var pipeline = 1
    @Option(help: "Open loop: messages per second in total (excludes --pipeline).") var rate: Double?
    @Flag(help: "Open loop: sleep until each message is due, not polling its last millisecond.")
    var sleepUntilDue = false
    @Option(help: "Payload bytes: N, or MIN-MAX for sizes drawn per message.") var size = "64"
    @Option(help: "Seconds to measure.") var duration = 10.0
    @Option(help: "Seconds of load before measuring.") var warmup = 2.0
    @Option(name: .customLong("protocol"), help: "Wire format: length, line or resp.") var wireProtocol = "length"
    @Option(help: "Length field (length protocol): u8, u16le, u16be, u32le, u32be, u64le, u64be (default u32le).")
    var frame: String?
    @Option(
        help: """
            RESP: ping, set, get (reads keys a preload wrote), or a command with __rand__ (a key number \
            over --keyspace) and __data__ (a --size value), e.g. "SET key:__rand__ __data__". Default ping.
            """)
    var command: String?
    @Option(help: "RESP: named commands drawn by weight, e.g. set:1,get:10 (excludes --command).") var mix: String?
    @Option(help: "RESP: keys drawn from (and written first when the workload reads).") var keyspace: Int?
    @Flag(help: "Count mismatches and error replies and go on, instead of stopping at the first.")
    var allowErrors = false
    @Flag(help: "Print the result as one JSON object on standard output.") var json = false
    @Option(help: "Write the latency percentile distribution as CSV to this file.") var csv: String?
    @Option(help: "Write the latency percentile distribution as an SVG chart to this file.") var svg: String?
    @Flag(help: "No progress lines.") var quiet = false
    @Option(help: "PID of the server (same machine): report its CPU time per message.") var serverPid: Int32?

    /// Flags at their defaults (ArgumentParser fills them in).
    public init() {}

    /// The options these flags describe (validation happens in `validate`).
    public func makeOptions() throws -> BenchOptions {
        var options = BenchOptions()
        options.host = host
        options.port = port
        if tls {
            switch (tlsCa, tlsInsecure) {
            case (let file?, false): options.tls = .certificateAuthority(file)
            case (nil, true): options.tls = .insecure
            case (nil, false): throw ValidationError("--tls needs --tls-ca FILE or --tls-insecure")
            case (_?, true): throw ValidationError("--tls-ca and --tls-insecure exclude each other")
            }
        } else if tlsCa != nil || tlsInsecure {
            throw ValidationError("--tls-ca and --tls-insecure apply to --tls only")
        }
        options.connections = conns
        options.idleConnections = idleConns
        options.connectRate = connectRate
        options.connectTimeoutSeconds = connectTimeout
        options.pipeline = pipeline
        options.rate = rate
        options.sleepUntilDue = sleepUntilDue
        guard let sizes = SizeRange(size) else {
            throw ValidationError("--size '\(size)' is not N or MIN-MAX with MIN <= MAX (bytes)")
        }
        options.sizes = sizes
        options.durationSeconds = duration
        options.warmupSeconds = warmup
        guard let wire = BenchProtocol(rawValue: wireProtocol) else {
            throw ValidationError("--protocol '\(wireProtocol)' is not one of \(BenchProtocol.names)")
        }
        options.wireProtocol = wire
        if let frame {
            guard wire == .length else { throw ValidationError("--frame applies to --protocol length only") }
            guard let format = FrameFormat(name: frame) else {
                let names = FrameFormat.all.map(\.name).joined(separator: ", ")
                throw ValidationError("--frame '\(frame)' is not one of \(names)")
            }
            options.frame = format
        }
        if wire != .resp {
            for (flag, given) in [
                ("--command", command != nil), ("--mix", mix != nil), ("--keyspace", keyspace != nil),
            ]
            where given {
                throw ValidationError("\(flag) applies to --protocol resp only")
            }
        }
        if command != nil && mix != nil { throw ValidationError("--command and --mix exclude each other") }
        do {
            if let command { options.command = try RESPWorkloadSpec(command: command) }
            if let mix { options.command = try RESPWorkloadSpec(mix: mix) }
        } catch {
            throw ValidationError(error.description)
        }
        if let keyspace { options.keyspace = keyspace }
        options.handshakes = handshakes
        options.allowErrors = allowErrors
        options.progress = !quiet
        options.serverPID = serverPid
        return options
    }

    /// Checks every flag; the message names each one that is wrong.
    public func validate() throws {
        let problems = try makeOptions().problems()
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
    }

    /// Runs the load and prints the report.
    public func run() throws {
        // Output files are opened before the run, so a bad path fails at
        // once instead of after the whole measurement.
        let csvFile = try csv.map(OutputFile.init(path:))
        let svgFile = try svg.map(OutputFile.init(path:))
        let generator = try LoadGenerator(options: try makeOptions()) { line in
            standardError(line)
        }
        let result: BenchResult
        do {
            result = try generator.run()
        } catch {
            standardError("keel-bench: \(error)")
            throw ExitCode.failure
        }
        if !writeAll(STDOUT_FILENO, (json ? result.json : result.text) + "\n") {
            standardError("keel-bench: cannot write the report to standard output: \(Errno(rawValue: errno))")
            throw ExitCode.failure
        }
        let points = LatencyChart.points(result.latencyNs)
        try csvFile?.write(LatencyChart.csv(points))
        try svgFile?.write(LatencyChart.svg(points, title: "keel-bench: \(result.options.summary)"))
        if !result.isClean {
            standardError(
                "keel-bench: the run was not clean (mismatches, error replies, early closes, errors, unanswered "
                    + "requests, connections that never got a reply, or requests skipped because it fell behind "
                    + "--rate)" + (result.firstProblem.map { "; first problem: \($0)" } ?? ""))
            throw ExitCode.failure
        }
    }
}

/// A file opened for writing when the run starts, written when it ends.
final class OutputFile {
    private let file: UnsafeMutablePointer<FILE>
    private let path: String

    init(path: String) throws {
        guard let file = fopen(path, "w") else {
            throw ValidationError("cannot write \(path): \(Errno(rawValue: errno))")
        }
        self.file = file
        self.path = path
    }

    deinit {
        fclose(file)
    }

    /// Writes `text` and flushes it; a full disk or /dev/full fails the run.
    func write(_ text: String) throws {
        if fputs(text, file) < 0 || fflush(file) != 0 {
            standardError("keel-bench: cannot write \(path): \(Errno(rawValue: errno))")
            throw ExitCode.failure
        }
    }
}

func standardError(_ line: String) {
    _ = writeAll(STDERR_FILENO, line + "\n")
}

/// Writes all of `text` to `fd` (retrying EINTR and short writes); false on an error.
func writeAll(_ fd: Int32, _ text: String) -> Bool {
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}
