// ServerRunner: the life of a Keel server executable, shared by `keel` and
// `keel-kv`: process set-up, logging, start (with a one-line error and exit 1
// when the address is taken), signals, the start and stop lines, statistics.
//
// Signals: SIGINT, SIGTERM and SIGHUP stop the server gracefully (SIGHUP is a
// terminal hanging up: Keel has no configuration file to reload, so it ends
// the way a terminal's programs are expected to, but cleanly, with its totals).
// SIGUSR1 logs one statistics line and changes nothing; SIGUSR2 reloads the
// TLS certificate, key and CA files (certificate rotation without a restart:
// new handshakes use them, a file that does not load keeps the old ones and
// the log says why), or on a server without TLS logs a statistics line.
// Their default action (ending the process) never applies. SIGPIPE is
// ignored (ProcessSetup).

import ArgumentParser
import Dispatch
import Glibc
import Keel
import Logging

/// Runs a Keel server executable from its flags to its exit.
public struct ServerRunner {
    /// Signals that stop the server gracefully.
    public static let stopSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    /// Signals that log a statistics line.
    public static let statisticsSignals: [Int32] = [SIGUSR1, SIGUSR2]

    private let name: String
    private let signals: ShutdownSignals
    private let relay: LogRelay
    /// The executable's logger (relayed: it never blocks its caller).
    public let logger: Logger

    /// Prepares the process: ignores SIGPIPE, guards descriptors 0-2, takes
    /// over the signals before any thread exists, and sets up logging.
    /// Call it first in `run()`.
    public init(name: String, logLevel: Logger.Level) {
        ProcessSetup.prepareServerProcess()
        signals = ShutdownSignals(signals: Self.stopSignals + Self.statisticsSignals)
        self.name = name
        relay = CommandLineLogging.bootstrap(level: logLevel)
        logger = Logger(label: name)
    }

    /// Starts `server` (exit status 1 with one line on failure), logs the
    /// start line with `metadata`, serves until a stop signal, logs the totals.
    public func run<Handler: ConnectionHandler>(
        _ server: Server<Handler>, metadata: Logger.Metadata, statisticsIntervalMs: Int?
    ) throws {
        let address: SocketAddress
        do {
            address = try server.start()
        } catch {
            CommandLineLogging.writeLine("\(name): \(error)")
            throw ExitCode.failure
        }
        let handle = server.handle
        let logger = logger
        let name = name
        let servesTLS = server.configuration.tls != nil
        signals.onSignal { signal in
            if signal == SIGUSR2 && servesTLS {
                do {
                    try handle.reloadTLS()
                    logger.notice("\(name): TLS certificate and key reloaded")
                } catch {
                    logger.error("\(name): TLS reload failed; the old certificate stays: \(error)")
                }
            } else if Self.statisticsSignals.contains(signal) {
                logger.info("\(name) stats: open=\(handle.openConnections) \(handle.statistics())")
            } else {
                handle.shutdown()
            }
        }
        var listening = "\(address)"
        if let tlsAddress = handle.tlsAddress {
            listening += " and TLS on \(tlsAddress)"
        } else if server.configuration.tls != nil {
            listening += " (TLS)"
        }
        logger.info("\(name) listening on \(listening)", metadata: metadata)
        let statistics = statisticsIntervalMs.map {
            StatisticsLog(server: handle, intervalMs: $0, name: name, logger: logger)
        }
        let totals = server.wait()
        statistics?.cancel()
        let dropped = relay.droppedRecords + handle.droppedLogRecords
        let droppedNote = dropped > 0 ? " log-lines-dropped=\(dropped)" : ""
        logger.info("\(name) stopped: \(totals)\(droppedNote)")
        relay.flush(timeoutMs: CommandLineLogging.exitFlushMs)
    }
}

/// Logs one line of counters every interval, with the message rate since the last line.
final class StatisticsLog {
    private let timer: DispatchSourceTimer

    init(server: ServerHandle, intervalMs: Int, name: String, logger: Logger) {
        timer = DispatchSource.makeTimerSource(queue: .global())
        let interval = DispatchTimeInterval.milliseconds(intervalMs)
        timer.schedule(deadline: .now() + interval, repeating: interval)
        let previous = Locked(Statistics())
        timer.setEventHandler {
            let now = server.statistics()
            let before = previous.withLock { value in
                defer { value = now }
                return value
            }
            let rate = Double(now.messagesIn - before.messagesIn) * 1_000 / Double(intervalMs)
            logger.info("\(name) stats: open=\(server.openConnections) msg/s=\(Int(rate)) \(now)")
        }
        timer.resume()
    }

    func cancel() {
        timer.cancel()
    }
}
