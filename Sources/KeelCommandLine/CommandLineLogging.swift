// CommandLineLogging: how Keel's executables log. Every record goes through
// a LogRelay to StandardErrorLogHandler, so no thread of the process (loops,
// the signal thread, main) ever waits for standard error: when it is a pipe
// nobody reads, lines are dropped and counted instead, and a SIGTERM still
// stops the server. At exit the relay gets a bounded time to write what is
// queued (the "stopped" line with the totals).

import Keel
import Logging

/// The logging set-up of Keel's executables.
public enum CommandLineLogging {
    /// How long the final lines may take to drain at exit.
    public static let exitFlushMs = 2_000

    /// Bootstraps swift-log with relayed standard-error logging at `level`;
    /// returns the relay so the caller can flush it before exiting.
    package static func bootstrap(level: Logger.Level) -> LogRelay {
        let relay = LogRelay(name: "keel-log")
        LoggingSystem.bootstrap { label in
            var handler = StandardErrorLogHandler(label: label)
            handler.logLevel = level
            return relay.handler(forwardingTo: handler)
        }
        return relay
    }

    /// Writes one line to standard error at once, without a relay: for
    /// errors before logging is set up (a port in use, a bad flag).
    public static func writeLine(_ line: String) {
        StandardErrorLogHandler.writeAll(Array((line + "\n").utf8))
    }
}
