// The `keel` executable: flags -> Configuration -> Server. No logic beyond
// translating flags, logging the start and stop lines, and turning SIGINT and
// SIGTERM into a graceful shutdown.

import ArgumentParser
import Dispatch
import Glibc
import Keel
import Logging

@main
struct KeelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel",
        abstract: "An evented TCP echo server for length-prefixed messages.",
        discussion: """
            Every message is a length field (--frame) followed by that many payload bytes; \
            Keel answers each with an identical message. SIGINT or SIGTERM stops accepting, \
            lets pending replies drain (up to --shutdown-timeout) and exits 0.
            """)

    @Option(help: "Numeric IPv4 or IPv6 address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "TCP port to listen on (0 picks a free one).")
    var port = 5882

    @Option(help: "Event loops, each on its own thread and listener (SO_REUSEPORT); --max-clients is split among them.")
    var threads = 1

    @Option(help: "Seconds between one-line statistics in the log (default: off).")
    var statsInterval: Double?

    @Option(help: "Readiness mechanism: epoll (O(ready) per wakeup) or poll (O(connections)).")
    var backend = BackendKind.epoll

    @Option(help: "PROXY protocol header each connection must begin with, behind HAProxy; auto takes either version.")
    var proxyProtocol = ProxyProtocol.off

    @Flag(help: "Register client sockets edge-triggered (epoll only): read and write until EAGAIN.")
    var edgeTriggered = false

    @Option(
        help: ArgumentHelp(
            "Microseconds each loop keeps polling after serving traffic before it sleeps again; 0 never polls.",
            discussion: "Cuts round-trip latency at the cost of a core kept busy while traffic flows.",
            valueName: "microseconds"))
    var busyPoll = 0

    @Option(help: "Most connections open at once; at the limit new ones wait in the backlog.")
    var maxClients = 4096

    @Option(help: "Largest message payload in bytes; a larger announced length closes that connection.")
    var maxMessage = 1_048_576

    @Option(help: "Seconds without a complete message before a connection is closed.")
    var idleTimeout = 60.0

    @Option(help: "Seconds a new connection has to send its first complete message (default: off).")
    var firstMessageTimeout: Double?

    @Option(help: "Seconds pending output may go without progress before the connection is closed.")
    var writeTimeout = 30.0

    @Option(
        help:
            "Pending output in bytes above which a connection is closed (default: 16 MiB, raised to fit --max-message)."
    )
    var maxPendingOutput: Int?

    @Option(help: "Seconds to let pending output drain on shutdown.")
    var shutdownTimeout = 5.0

    @Option(help: "listen(2) backlog.")
    var backlog = 1024

    @Option(help: "Length field: \(FrameFormat.all.map(\.name).joined(separator: ", ")).")
    var frame = FrameFormat.u32le

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = Logger.Level.info

    func validate() throws {
        for (flag, seconds) in [("--idle-timeout", idleTimeout), ("--write-timeout", writeTimeout)]
        where !(seconds > 0) {
            throw ValidationError("\(flag) must be a positive number of seconds (got \(seconds))")
        }
        if let first = firstMessageTimeout, !(first > 0) {
            throw ValidationError("--first-message-timeout must be a positive number of seconds (got \(first))")
        }
        if let interval = statsInterval, !(interval > 0) {
            throw ValidationError("--stats-interval must be a positive number of seconds (got \(interval))")
        }
        if !(shutdownTimeout >= 0) {
            throw ValidationError("--shutdown-timeout must not be negative (got \(shutdownTimeout))")
        }
        do {
            try makeConfiguration().validate()
        } catch {
            throw ValidationError(flagText(for: error))
        }
    }

    func makeConfiguration() -> Configuration {
        var configuration = Configuration()
        configuration.host = host
        configuration.port = port
        configuration.maxClients = maxClients
        configuration.maxMessageBytes = maxMessage
        configuration.idleTimeoutMs = milliseconds(idleTimeout)
        configuration.firstMessageTimeoutMs = firstMessageTimeout.map(milliseconds)
        configuration.writeTimeoutMs = milliseconds(writeTimeout)
        configuration.shutdownTimeoutMs = milliseconds(shutdownTimeout)
        configuration.backlog = backlog
        configuration.backend = backend
        configuration.threads = threads
        configuration.edgeTriggered = edgeTriggered
        configuration.busyPollMicroseconds = busyPoll
        configuration.frame = frame
        configuration.proxyProtocol = proxyProtocol
        if let maxPendingOutput {
            configuration.maxPendingOutputBytes = maxPendingOutput
        } else {
            // Leave room for echoing one read plus a maximum-size frame.
            let needed =
                configuration.outputHighWatermarkBytes + min(maxMessage, Int(clamping: frame.largestLength))
                + frame.headerBytes + configuration.readBufferBytes
            configuration.maxPendingOutputBytes = max(configuration.maxPendingOutputBytes, needed)
        }
        return configuration
    }

    func run() throws {
        // First, before any thread exists: every later thread inherits the mask.
        let signals = ShutdownSignals()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "keel")
        let configuration = makeConfiguration()
        let server = Server(configuration: configuration, logger: logger)
        let address: SocketAddress
        do {
            address = try server.start()
        } catch {
            FileHandleOutput.standardError("keel: \(error)")
            throw ExitCode.failure
        }
        signals.onSignal { _ in server.shutdown() }
        logger.info(
            "keel listening on \(address)",
            metadata: [
                "backend": "\(backend)", "trigger": "\(edgeTriggered ? "edge" : "level")", "threads": "\(threads)",
                "busy_poll_us": "\(busyPoll)", "frame": "\(frame)", "proxy_protocol": "\(proxyProtocol)",
                "max_clients": "\(maxClients)",
                "max_message": "\(maxMessage)",
                "idle_timeout_s": "\(idleTimeout)",
                "first_message_timeout_s": "\(firstMessageTimeout.map { "\($0)" } ?? "off")",
                "write_timeout_s": "\(writeTimeout)",
                "max_pending_output": "\(configuration.maxPendingOutputBytes)",
            ])
        let statistics = statsInterval.map { StatisticsLog(server: server.handle, seconds: $0, logger: logger) }
        let totals = server.wait()
        statistics?.cancel()
        logger.info("keel stopped: \(totals)")
    }

    private func milliseconds(_ seconds: Double) -> Int {
        Int((seconds * 1000).rounded(.up))
    }

    /// Rewrites a configuration error in terms of the flags.
    private func flagText(for error: Error) -> String {
        guard case ServerError.invalidConfiguration(let text) = error else { return "\(error)" }
        let names = [
            "maxClients": "--max-clients", "maxMessageBytes": "--max-message", "idleTimeoutMs": "--idle-timeout",
            "firstMessageTimeoutMs": "--first-message-timeout", "writeTimeoutMs": "--write-timeout",
            "maxPendingOutputBytes": "--max-pending-output", "backlog": "--backlog", "host": "--host",
            "shutdownTimeoutMs": "--shutdown-timeout", "threads": "--threads", "edgeTriggered": "--edge-triggered",
            "the epoll backend": "--backend epoll", "busyPollMicroseconds": "--busy-poll",
        ]
        return names.reduce(text) { $0.replacing($1.key, with: $1.value) }
    }
}

extension BackendKind: ExpressibleByArgument {}

extension ProxyProtocol: ExpressibleByArgument {}

extension FrameFormat: ExpressibleByArgument {
    /// Parses a format name such as "u32le".
    public init?(argument: String) {
        self.init(name: argument)
    }

    /// Every format name, for help and error messages.
    public static var allValueStrings: [String] { all.map(\.name) }
}

// swift-format-ignore: AvoidRetroactiveConformances
// Log levels parse from their names; swift-log has no ArgumentParser support.
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Logs one line of counters every interval, with rates since the last line.
final class StatisticsLog {
    private let timer: DispatchSourceTimer

    init(server: ServerHandle, seconds: Double, logger: Logger) {
        timer = DispatchSource.makeTimerSource(queue: .global())
        let interval = DispatchTimeInterval.milliseconds(Int(seconds * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        let previous = Locked(Statistics())
        timer.setEventHandler {
            let now = server.statistics()
            let before = previous.withLock { value in
                defer { value = now }
                return value
            }
            let rate = Double(now.messagesIn - before.messagesIn) / seconds
            logger.info("keel stats: open=\(server.openConnections) msg/s=\(Int(rate)) \(now)")
        }
        timer.resume()
    }

    func cancel() {
        timer.cancel()
    }
}

enum FileHandleOutput {
    static func standardError(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
