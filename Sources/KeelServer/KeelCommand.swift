// The `keel` executable: flags -> Configuration -> Server. No logic beyond
// translating flags; the shared flags, logging, signals and the start and
// stop lines are KeelCommandLine's.

import ArgumentParser
import Keel
import KeelCommandLine
import Logging

/// `keel`'s defaults where they differ from other Keel executables.
enum KeelDefaults: ServerFlagDefaults {
    static let port = 5882
}

@main
struct KeelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel",
        abstract: "An evented TCP echo server for length-prefixed messages or lines.",
        discussion: """
            Every message is a length field (--frame) followed by that many payload bytes, or with \
            --protocol line a line of text; Keel answers each with an identical message. SIGINT, SIGTERM or SIGHUP stops accepting, \
            lets pending replies drain (up to --shutdown-timeout) and exits 0; SIGUSR1 logs the counters. \
            With --tls-cert and --tls-key the port serves TLS; SIGUSR2 reloads the TLS files.
            """)

    @OptionGroup var server: ServerFlags<KeelDefaults>

    @OptionGroup(title: "TLS") var tls: TLSFlags

    @Option(help: "Length field: \(FrameFormat.all.map(\.name).joined(separator: ", ")).")
    var frame = FrameFormat.u32le

    @Option(
        name: .customLong("protocol"),
        help: "Message format: length (a length field, --frame) or line (LF or CRLF ended; replies end with LF).")
    var messageProtocol = MessageProtocol.length

    func validate() throws {
        _ = try makeConfiguration()
    }

    func makeConfiguration() throws -> Configuration {
        let tlsConfiguration = try tls.makeConfiguration()
        return try server.makeConfiguration {
            $0.frame = frame
            $0.messageProtocol = messageProtocol
            $0.tls = tlsConfiguration
        }
    }

    func run() throws {
        let runner = ServerRunner(name: "keel", logLevel: server.logLevel)
        let configuration = try makeConfiguration()
        let keel = Server(configuration: configuration, logger: runner.logger)
        let metadata: Logger.Metadata = [
            "backend": "\(configuration.backend)", "trigger": "\(configuration.edgeTriggered ? "edge" : "level")",
            "threads": "\(configuration.threads)", "busy_poll_us": "\(configuration.busyPollUs)",
            "protocol": "\(messageProtocol)", "frame": "\(frame)", "proxy_protocol": "\(configuration.proxyProtocol)",
            "max_clients": "\(configuration.maxClients)",
            "max_message": "\(configuration.effectiveMaxMessageBytes)",
            "idle_timeout_s": "\(server.idleTimeout)",
            "first_message_timeout_s": "\(server.firstMessageTimeout.map { "\($0)" } ?? "off")",
            "write_timeout_s": "\(server.writeTimeout)",
            "max_pending_output": "\(configuration.maxPendingOutputBytes)",
            "tls": "\(configuration.tls.map { "\($0.minimumVersion)+ \($0.clientAuthentication)" } ?? "off")",
        ]
        try runner.run(keel, metadata: metadata, statisticsIntervalMs: try server.statisticsIntervalMs())
    }
}

extension MessageProtocol: ExpressibleByArgument {}

extension FrameFormat: ExpressibleByArgument {
    /// Parses a format name such as "u32le".
    public init?(argument: String) {
        self.init(name: argument)
    }

    /// Every format name, for help and error messages.
    public static var allValueStrings: [String] { all.map(\.name) }
}
