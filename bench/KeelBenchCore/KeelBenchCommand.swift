// keel-bench's command line: flags -> BenchOptions -> LoadGenerator -> reports.

import ArgumentParser
import Glibc
import Keel

/// keel-bench's flags and entry point.
public struct KeelBenchCommand: ParsableCommand {
    /// Name, abstract and discussion shown by --help.
    public static let configuration = CommandConfiguration(
        commandName: "keel-bench",
        abstract: "Load generator for length-prefixed echo servers (Keel or any peer).",
        discussion: """
            Closed loop (--pipeline D): every connection keeps D messages in flight. Open loop \
            (--rate R): R messages per second in total leave on a fixed schedule, and latency is \
            measured from each message's intended send time. Every echoed byte is verified; \
            mismatches, early closes and errors make the exit status 1.
            """)

    @Option(help: "Server address (numeric IPv4 or IPv6).") var host = "127.0.0.1"
    @Option(help: "Server port.") var port = 5882
    @Option(help: "Connections that send messages.") var conns = 50
    @Option(help: "Extra connections opened and held without sending.") var idleConns = 0
    @Option(help: "New connections per second while connecting.") var connectRate = 2_000.0
    @Option(help: "Seconds one connect may take.") var connectTimeout = 5.0
    @Option(help: "Closed loop: messages in flight per connection.") var pipeline = 1
    @Option(help: "Open loop: messages per second in total (excludes --pipeline).") var rate: Double?
    @Option(help: "Payload bytes: N, or MIN-MAX for sizes drawn per message.") var size = "64"
    @Option(help: "Seconds to measure.") var duration = 10.0
    @Option(help: "Seconds of load before measuring.") var warmup = 2.0
    @Option(help: "Length field: u8, u16le, u16be, u32le, u32be, u64le, u64be.") var frame = "u32le"
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
        options.connections = conns
        options.idleConnections = idleConns
        options.connectRate = connectRate
        options.connectTimeoutSeconds = connectTimeout
        options.pipeline = pipeline
        options.rate = rate
        guard let sizes = SizeRange(size) else {
            throw ValidationError("--size '\(size)' is not N or MIN-MAX with MIN <= MAX (bytes)")
        }
        options.sizes = sizes
        options.durationSeconds = duration
        options.warmupSeconds = warmup
        guard let format = FrameFormat(name: frame) else {
            let names = FrameFormat.all.map(\.name).joined(separator: ", ")
            throw ValidationError("--frame '\(frame)' is not one of \(names)")
        }
        options.frame = format
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
                "keel-bench: the run was not clean (mismatches, early closes, errors, unanswered messages, "
                    + "connections that never got a reply, or messages skipped because it fell behind --rate)")
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
