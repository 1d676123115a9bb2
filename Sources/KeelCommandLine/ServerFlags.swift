// ServerFlags: the flags every Keel server executable shares (address,
// threads, backend, limits, timeouts, logging), with the same names and
// defaults in each, turned into a Configuration.
//
// Every numeric flag is checked against the range Configuration allows for
// its field (Configuration+Ranges.swift, the one place ranges live) before
// anything is converted or added up: NaN, infinities and out-of-range values
// get a message naming the flag and exit 64, never a crash later.

import ArgumentParser
import Keel
import Logging

/// Defaults that differ between Keel's executables.
public protocol ServerFlagDefaults {
    /// The port served when --port is not given.
    static var port: Int { get }
    /// --idle-timeout when not given, in seconds; 0 is off. Default 60.
    static var idleTimeoutSeconds: Double { get }
    /// --max-message when not given, in bytes. Default 1 MiB.
    static var maxMessageBytes: Int { get }
    /// What --max-message limits, for --help.
    static var maxMessageHelp: String { get }
    /// The smallest --max-message the executable takes (what its format
    /// needs to serve anything at all). Default 0.
    static var minimumMessageBytes: Int { get }
}

extension ServerFlagDefaults {
    /// 60 s.
    public static var idleTimeoutSeconds: Double { 60 }
    /// 1 MiB.
    public static var maxMessageBytes: Int { 1 << 20 }
    /// A message (request) as a whole.
    public static var maxMessageHelp: String {
        "Largest message (request) in bytes; a larger announced length closes that connection."
    }
    /// 0.
    public static var minimumMessageBytes: Int { 0 }
}

/// The flags of a Keel server executable.
public struct ServerFlags<Defaults: ServerFlagDefaults>: ParsableArguments {
    /// `--host`.
    @Option(help: "Numeric IPv4 or IPv6 address to listen on; :: takes IPv6 and IPv4 connections.")
    public var host = "127.0.0.1"

    /// `--port`. Numeric options parse unconditionally: "-1" is a value to
    /// refuse with a clear message, not an unknown flag.
    @Option(parsing: .unconditional, help: "TCP port to listen on (0 picks a free one).")
    public var port = Defaults.port

    /// `--threads`.
    @Option(
        parsing: .unconditional,
        help: "Event loops, each on its own thread and listener (SO_REUSEPORT); --max-clients holds over all of them.")
    public var threads = 1

    /// `--backend`.
    @Option(help: "Readiness mechanism: epoll (O(ready) per wakeup) or poll (O(connections)).")
    public var backend = BackendKind.epoll

    /// `--edge-triggered`.
    @Flag(help: "Register client sockets edge-triggered (epoll only): read and write until EAGAIN.")
    public var edgeTriggered = false

    /// `--busy-poll`.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Microseconds each loop keeps polling after serving traffic before it sleeps again; 0 never polls.",
            discussion: "Cuts round-trip latency at the cost of a core kept busy while traffic flows.",
            valueName: "microseconds"))
    public var busyPoll = 0

    /// `--max-clients`.
    @Option(parsing: .unconditional, help: "Most connections open at once; at the limit new ones wait in the backlog.")
    public var maxClients = 4096

    /// `--max-message`.
    @Option(parsing: .unconditional, help: ArgumentHelp(Defaults.maxMessageHelp))
    public var maxMessage = Defaults.maxMessageBytes

    /// `--idle-timeout`.
    @Option(
        parsing: .unconditional,
        help: "Seconds without a complete message before a connection is closed; 0 never closes an idle one.")
    public var idleTimeout = Defaults.idleTimeoutSeconds

    /// `--first-message-timeout`.
    @Option(
        parsing: .unconditional,
        help: "Seconds a new connection has to send its first complete message (default: off).")
    public var firstMessageTimeout: Double?

    /// `--write-timeout`.
    @Option(
        parsing: .unconditional,
        help: "Seconds pending output may go without progress before the connection is closed.")
    public var writeTimeout = 30.0

    /// `--max-pending-output`.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Pending output in bytes above which a connection is closed when output it did not ask for arrives.",
            discussion: "Replies to a connection's own requests are not capped (reading pauses instead).",
            valueName: "bytes"))
    public var maxPendingOutput = Configuration().maxPendingOutputBytes

    /// `--shutdown-timeout`.
    @Option(parsing: .unconditional, help: "Seconds to let pending output drain on shutdown.")
    public var shutdownTimeout = 5.0

    /// `--backlog`.
    @Option(parsing: .unconditional, help: "listen(2) backlog.")
    public var backlog = 1024

    /// `--proxy-protocol`.
    @Option(help: "PROXY protocol header each connection must begin with, behind HAProxy; auto takes either version.")
    public var proxyProtocol = ProxyProtocol.off

    /// `--log-level`.
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    public var logLevel = Logger.Level.info

    /// `--stats-interval`.
    @Option(
        parsing: .unconditional,
        help: "Seconds between one-line statistics in the log (default: off; SIGUSR1 logs one line at any time).")
    public var statsInterval: Double?

    /// The flags at their defaults.
    public init() {}

    /// The shortest --stats-interval: ten lines a second.
    public static var shortestStatisticsIntervalMs: Int { 100 }

    /// Checks every flag (ArgumentParser calls this before running).
    public func validate() throws {
        _ = try makeConfiguration()
    }

    /// --stats-interval in milliseconds, when on.
    public func statisticsIntervalMs() throws -> Int? {
        try statsInterval.map {
            try milliseconds(
                $0, flag: "--stats-interval",
                in: Self.shortestStatisticsIntervalMs...Configuration.longestDurationMs)
        }
    }

    /// The configuration these flags describe; `adjust` sets what the
    /// executable adds (e.g. the frame format) before the derived defaults
    /// are computed and everything is validated. Throws a ValidationError
    /// naming the flag.
    public func makeConfiguration(_ adjust: (inout Configuration) -> Void = { _ in }) throws -> Configuration {
        try checkRanges()
        var configuration = Configuration()
        configuration.host = host
        configuration.port = port
        configuration.threads = threads
        configuration.backend = backend
        configuration.edgeTriggered = edgeTriggered
        configuration.busyPollUs = busyPoll
        configuration.maxClients = maxClients
        configuration.maxMessageBytes = maxMessage
        configuration.idleTimeoutMs =
            idleTimeout == 0 ? nil : try milliseconds(idleTimeout, flag: "--idle-timeout", field: "idleTimeoutMs")
        configuration.firstMessageTimeoutMs = try firstMessageTimeout.map {
            try milliseconds($0, flag: "--first-message-timeout", field: "firstMessageTimeoutMs")
        }
        configuration.writeTimeoutMs = try milliseconds(writeTimeout, flag: "--write-timeout", field: "writeTimeoutMs")
        configuration.shutdownTimeoutMs = try milliseconds(
            shutdownTimeout, flag: "--shutdown-timeout", field: "shutdownTimeoutMs")
        configuration.backlog = backlog
        configuration.proxyProtocol = proxyProtocol
        configuration.maxPendingOutputBytes = maxPendingOutput
        adjust(&configuration)
        // Loops publish their counters ten times per logged line, so each
        // line's rate covers its own interval (to within a tenth of it), not
        // a second's worth of counting divided by a shorter interval.
        if let interval = try statisticsIntervalMs() {
            configuration.statisticsIntervalMs = min(configuration.statisticsIntervalMs, max(10, interval / 10))
        }
        do {
            try configuration.validate()
        } catch {
            throw ValidationError(Self.flagText(for: error))
        }
        return configuration
    }

    /// The integer flags against their fields' ranges, before any arithmetic.
    private func checkRanges() throws {
        let checks: [(flag: String, field: String, value: Int?)] = [
            ("--port", "port", port), ("--threads", "threads", threads),
            ("--busy-poll", "busyPollUs", busyPoll),
            ("--max-clients", "maxClients", maxClients), ("--max-message", "maxMessageBytes", maxMessage),
            ("--max-pending-output", "maxPendingOutputBytes", maxPendingOutput), ("--backlog", "backlog", backlog),
        ]
        for check in checks {
            guard let value = check.value else { continue }
            var range = Configuration.allowedRange(of: check.field)
            if check.field == "maxMessageBytes" {
                range = max(range.lowerBound, Defaults.minimumMessageBytes)...range.upperBound
            }
            guard range.contains(value) else {
                throw ValidationError(
                    "\(check.flag) must be in \(range.lowerBound)...\(range.upperBound) (got \(value))")
            }
        }
    }

    private func milliseconds(_ seconds: Double, flag: String, field: String) throws -> Int {
        try milliseconds(seconds, flag: flag, in: Configuration.allowedRange(of: field))
    }

    private func milliseconds(_ seconds: Double, flag: String, in range: ClosedRange<Int>) throws -> Int {
        guard let milliseconds = Configuration.milliseconds(fromSeconds: seconds, in: range) else {
            throw ValidationError(
                "\(flag) must be a number of seconds in \(Self.seconds(range.lowerBound))...\(Self.seconds(range.upperBound)) (got \(seconds))"
            )
        }
        return milliseconds
    }

    private static func seconds(_ milliseconds: Int) -> String {
        milliseconds % 1_000 == 0 ? "\(milliseconds / 1_000)" : "\(Double(milliseconds) / 1_000)"
    }

    /// Rewrites a configuration error in terms of the flags (whole words only).
    static func flagText(for error: Error) -> String {
        guard case ServerError.invalidConfiguration(let text) = error else { return "\(error)" }
        let names = [
            "maxClients": "--max-clients", "maxMessageBytes": "--max-message", "idleTimeoutMs": "--idle-timeout",
            "firstMessageTimeoutMs": "--first-message-timeout", "writeTimeoutMs": "--write-timeout",
            "maxPendingOutputBytes": "--max-pending-output", "backlog": "--backlog", "host": "--host",
            "port": "--port", "shutdownTimeoutMs": "--shutdown-timeout", "threads": "--threads",
            "edgeTriggered": "--edge-triggered", "busyPollUs": "--busy-poll",
        ]
        var words: [String] = []
        var word = ""
        for character in text {
            if character.isLetter || character.isNumber {
                word.append(character)
            } else {
                words.append(names[word] ?? word)
                word = ""
                words.append(String(character))
            }
        }
        words.append(names[word] ?? word)
        return words.joined().replacing("the epoll backend", with: "--backend epoll")
    }
}

extension BackendKind: ExpressibleByArgument {}

extension ProxyProtocol: ExpressibleByArgument {}

// swift-format-ignore: AvoidRetroactiveConformances
// Log levels parse from their names; swift-log has no ArgumentParser support.
extension Logger.Level: @retroactive ExpressibleByArgument {}
