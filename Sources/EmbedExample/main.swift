// keel-embed-example: Keel running beside other work in one service, under
// swift-service-lifecycle. A ServiceGroup runs the Keel server and a second
// service (a ticker that reports Keel's counters every second); SIGINT or
// SIGTERM shuts both down gracefully: Keel stops accepting, drains pending
// replies, closes, and the process exits 0.
//
// Usage: keel-embed-example [PORT]   (0 picks a free port; the log says which)

import Keel
import Logging
import ServiceLifecycle

/// The "other work": reads Keel's counters once a second until shutdown.
struct StatisticsTicker: Service {
    let server: ServerHandle
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            let totals = server.statistics()
            logger.info("ticker: open=\(server.openConnections) messages=\(totals.messagesIn)")
        }
    }
}

@main
enum EmbedExample {
    static func main() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "embed-example")
        var configuration = Configuration()
        configuration.port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 5884 : 5884
        let server = Server(configuration: configuration, logger: logger)
        // Starting before the group runs reports a taken port at once.
        let address = try server.start()
        logger.info("keel listening on \(address)")
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: server),
                    .init(service: StatisticsTicker(server: server.handle, logger: logger)),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.info("keel stopped: \(server.wait())")
    }
}
