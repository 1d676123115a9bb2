// The `keel-kv` executable: keel-kv's flags (Keel's, with Redis's port) ->
// Configuration -> a RESP server over one store. No logic of its own.

import ArgumentParser
import Keel
import KeelCommandLine
import KeelKV
import Logging

/// keel-kv's defaults where they differ from keel's: redis-server's.
enum KVDefaults: ServerFlagDefaults {
    static let port = 6379
    /// redis-server's `timeout 0`: an idle client is never closed.
    static let idleTimeoutSeconds = 0.0
    /// redis-server's proto-max-bulk-len, 512 MiB.
    static let maxMessageBytes = 512 << 20
    static let maxMessageHelp =
        "Largest value (bulk string) a request may carry, as redis-server's proto-max-bulk-len; a request as a whole may take twice that."
}

@main
struct KVServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel-kv",
        abstract: "An in-memory key-value store speaking Redis's protocol (RESP2), on Keel.",
        discussion: """
            Serves strings, lists, sets and hashes to redis-cli, Redis client libraries and \
            redis-benchmark. --max-message is the largest value; a request may take twice that. SIGINT, \
            SIGTERM or SIGHUP stops it gracefully; SIGUSR1 logs the counters. Data lives in memory only.
            """)

    @OptionGroup var server: ServerFlags<KVDefaults>

    func validate() throws {
        _ = try server.makeConfiguration()
    }

    func run() throws {
        let runner = ServerRunner(name: "keel-kv", logLevel: server.logLevel)
        let configuration = try server.makeConfiguration()
        let store = KVStore(loops: configuration.threads)
        let format = RESPFormat.keelKV(maxValueBytes: configuration.maxMessageBytes)
        let kv = Server(configuration: configuration, format: format, logger: runner.logger) { _ in
            KVHandler(store: store)
        }
        let metadata: Logger.Metadata = [
            "threads": "\(configuration.threads)", "backend": "\(configuration.backend)",
            "max_clients": "\(configuration.maxClients)", "max_message": "\(configuration.maxMessageBytes)",
            "idle_timeout_s": "\(server.idleTimeout)", "shards": "\(store.shards.count)",
        ]
        try runner.run(kv, metadata: metadata, statisticsIntervalMs: try server.statisticsIntervalMs())
    }
}
