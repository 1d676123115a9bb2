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
        "Largest value (bulk string) a request may carry, as redis-server's proto-max-bulk-len (at least 1 MiB, as there); a request as a whole may take twice that."
    /// redis-server's least proto-max-bulk-len: below it a limit refuses
    /// ordinary requests (at 0, even PING's bulk).
    static let minimumMessageBytes = 1 << 20
}

@main
struct KVServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keel-kv",
        abstract: "An in-memory key-value store speaking Redis's protocol (RESP2 and RESP3), on Keel.",
        discussion: """
            Serves strings, lists, hashes, sets and sorted sets to redis-cli, Redis client libraries and \
            redis-benchmark. --max-message is the largest value; a request may take twice that. SIGINT, \
            SIGTERM or SIGHUP stops it gracefully; SIGUSR1 logs the counters. Data lives in memory only. \
            --tls-port serves TLS beside --port (--port 0 turns plaintext off), as redis-server does; \
            SIGUSR2 reloads the TLS files.
            """)

    @OptionGroup var server: ServerFlags<KVDefaults>

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "TLS port beside --port (needs --tls-cert and --tls-key); 0 picks a free one.", valueName: "port"))
    var tlsPort: Int?

    @OptionGroup(title: "TLS") var tls: TLSFlags

    @Option(
        help: ArgumentHelp(
            "Password clients must give (AUTH, HELLO AUTH) before other commands, as redis-server's requirepass; visible to other users in the process list.",
            valueName: "password"))
    var requirepass: String?

    @Option(
        help: ArgumentHelp(
            "File whose first line is the password (kept out of the process list).", valueName: "path"))
    var requirepassFile: String?

    @Option(
        help: ArgumentHelp(
            "Who may run DEBUG (tests and diagnosis: DEBUG SLEEP stops the server): no, yes, or local (connections from this host), as redis-server's enable-debug-command (whose default is no).",
            valueName: "no|yes|local"))
    var enableDebugCommand: KVDebugAccess = .local

    @Option(
        help: ArgumentHelp(
            "Most memory the keys and values may take before keys are evicted by --maxmemory-policy (as redis-server's maxmemory: bytes, or with k, kb, m, mb, g, gb); 0: no limit.",
            valueName: "bytes"))
    var maxmemory: String = "0"

    @Option(
        help: ArgumentHelp(
            "Which keys go when --maxmemory is reached: \(KVSettings.evictionPolicyNames.joined(separator: ", ")) (noeviction refuses writes instead).",
            valueName: "policy"))
    var maxmemoryPolicy: String = "noeviction"

    func validate() throws {
        _ = try makeConfiguration()
        _ = try memoryLimit()
        if requirepass != nil && requirepassFile != nil {
            throw ValidationError("--requirepass and --requirepass-file are exclusive; give one.")
        }
        _ = try password()
    }

    /// The server's configuration: with --tls-port, TLS on that port and
    /// plaintext on --port, unless --port is 0 (TLS only, as redis-server).
    func makeConfiguration() throws -> Configuration {
        let tlsConfiguration = try tls.makeConfiguration()
        if let tlsPort {
            guard tlsConfiguration != nil else { throw ValidationError("--tls-port needs --tls-cert and --tls-key.") }
            guard (0...65_535).contains(tlsPort) else {
                throw ValidationError("--tls-port must be in 0...65535 (got \(tlsPort))")
            }
        } else if tlsConfiguration != nil {
            throw ValidationError("--tls-cert serves TLS on --tls-port; give --tls-port too.")
        }
        return try server.makeConfiguration {
            $0.tls = tlsConfiguration
            // A read is served whole before the loop moves on: 16 KiB (as
            // redis-server reads) bounds what one client's pipeline makes
            // the others wait for (64 KiB of SETs kept a loop iteration
            // busy for milliseconds during `redis-cli --pipe`).
            $0.readBufferBytes = 16 << 10
            // Replies outgrow requests (LRANGE): the staging a 64 KiB read
            // had (16 KiB cost LRANGE_600 at pipeline 16 a fifth more CPU).
            $0.outputStagingBytes = (64 << 10) + 64
            // Past --max-clients a client is told, as redis-server tells it.
            $0.clientLimitReply = Array("-ERR max number of clients reached\r\n".utf8)
            guard let tlsPort else { return }
            if $0.port == 0 {
                $0.port = tlsPort
            } else {
                $0.tlsPort = tlsPort
            }
        }
    }

    /// --maxmemory in bytes, --maxmemory-policy checked.
    func memoryLimit() throws -> Int {
        guard let bytes = KVSettings.parseMemory(maxmemory) else {
            throw ValidationError("--maxmemory: '\(maxmemory)' is not a size (bytes, or with k, kb, m, mb, g, gb).")
        }
        guard KVSettings.evictionPolicyNames.contains(maxmemoryPolicy.lowercased()) else {
            throw ValidationError(
                "--maxmemory-policy: '\(maxmemoryPolicy)' is not one of \(KVSettings.evictionPolicyNames.joined(separator: ", ")) (keel-kv keeps no access counts: no LFU)."
            )
        }
        return bytes
    }

    /// The password from --requirepass or --requirepass-file, if any.
    func password() throws -> String? {
        guard let requirepassFile else { return requirepass }
        guard let text = try? String(contentsOfFile: requirepassFile, encoding: .utf8) else {
            throw ValidationError("--requirepass-file: cannot read '\(requirepassFile)'.")
        }
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let password = String(line.hasSuffix("\r") ? line.dropLast() : line)
        guard !password.isEmpty else {
            throw ValidationError("--requirepass-file: '\(requirepassFile)' holds no password.")
        }
        return password
    }

    func run() throws {
        // The store frees small blocks by the million (DEL, expiry,
        // eviction): merged as they are freed, not all at once later on a
        // loop's thread (HeapMemory.disableFastBins).
        HeapMemory.disableFastBins()
        let runner = ServerRunner(name: "keel-kv", logLevel: server.logLevel)
        let configuration = try makeConfiguration()
        let settings = KVSettings(
            requirePass: try password(), port: server.port, bind: server.host, maxClients: configuration.maxClients,
            idleTimeoutSeconds: Int(server.idleTimeout), maxBulkBytes: configuration.maxMessageBytes,
            debugAccess: enableDebugCommand, maxMemory: try memoryLimit(), evictionPolicy: maxmemoryPolicy,
            tlsPort: tlsPort ?? 0, clientOutputLimitBytes: configuration.maxPendingOutputBytes)
        let store = KVStore(loops: configuration.threads, settings: settings)
        let format = RESPFormat.keelKV(maxValueBytes: configuration.maxMessageBytes)
        let kv = Server(configuration: configuration, format: format, logger: runner.logger) { _ in
            KVHandler(store: store)
        }
        let logger = runner.logger
        store.shutdownAction.withLock {
            $0 = { [kv] in
                logger.notice("SHUTDOWN asked by a client: stopping")
                kv.shutdown()
            }
        }
        store.serverTotals.withLock {
            $0 = { [kv] in
                let totals = kv.statistics()
                return KVServerTotals(
                    bytesIn: totals.bytesIn, bytesOut: totals.bytesOut, rejectedConnections: totals.rejected)
            }
        }
        let metadata: Logger.Metadata = [
            "threads": "\(configuration.threads)", "backend": "\(configuration.backend)",
            "max_clients": "\(configuration.maxClients)", "max_message": "\(configuration.maxMessageBytes)",
            "idle_timeout_s": "\(server.idleTimeout)", "shards": "\(store.shardCount)",
            "requirepass": "\(settings.requiresPassword ? "yes" : "no")",
            "maxmemory": "\(try memoryLimit())", "maxmemory_policy": "\(maxmemoryPolicy.lowercased())",
            "tls_port": "\(tlsPort.map { "\($0)" } ?? "off")",
        ]
        try runner.run(kv, metadata: metadata, statisticsIntervalMs: try server.statisticsIntervalMs())
    }
}

extension KVDebugAccess: ExpressibleByArgument {}
