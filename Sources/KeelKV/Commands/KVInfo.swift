// INFO [section ...]: the sections and fields clients and tools read, as
// redis-server 7.0 lays them out ("# Section", then field:value lines,
// CRLF-separated, a blank line between sections). Values keel-kv does not
// have (replication offsets, fork times) read as an idle redis-server's.

import Glibc
import KeelPosix
import KeelWire

enum KVInfo {
    /// Sections in INFO's order; the default set is all but commandstats.
    static let sections = [
        "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats",
        "cluster", "keyspace",
    ]

    /// The process's run id: 40 random hex digits, fixed for its life.
    static let runID: String = {
        var generator = SystemRandomNumberGenerator()
        return (0..<40).map { _ in String(Int.random(in: 0..<16, using: &generator), radix: 16) }.joined()
    }()

    static func info(_ context: KVContext) {
        var chosen: [String] = []
        if context.argumentCount == 1 {
            chosen = sections
        } else {
            for index in 1..<context.argumentCount {
                let name = String(decoding: context[index], as: UTF8.self).lowercased()
                switch name {
                case "all", "everything": chosen += sections + ["commandstats"]
                case "default": chosen += sections
                default: chosen.append(name)
                }
            }
        }
        var seen: Set<String> = []
        var text = ""
        for name in chosen where seen.insert(name).inserted {
            guard let body = section(name, context) else { continue }
            if !text.isEmpty { text += "\r\n" }
            text += "# \(name.prefix(1).uppercased() + name.dropFirst())\r\n" + body
        }
        Array(text.utf8).withUnsafeBytes { context.reply.verbatim($0) }
    }

    private static func lines(_ fields: [(String, String)]) -> String {
        fields.map { "\($0.0):\($0.1)\r\n" }.joined()
    }

    static func section(_ name: String, _ context: KVContext) -> String? {
        let store = context.store
        let nowMs = context.nowMs
        switch name {
        case "server":
            var system = utsname()
            uname(&system)
            let os = [system.sysname, system.release, system.machine].map { field in
                withUnsafeBytes(of: field) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            }.joined(separator: " ")
            let uptime = (nowMs - store.startedAtMs) / 1_000
            return lines([
                ("redis_version", "7.0.15"), ("redis_git_sha1", "00000000"), ("redis_git_dirty", "0"),
                ("redis_build_id", "0"), ("redis_mode", "standalone"), ("os", os), ("arch_bits", "64"),
                ("monotonic_clock", "POSIX clock_gettime"), ("multiplexing_api", "epoll"),
                ("process_id", "\(getpid())"), ("process_supervised", "no"), ("run_id", runID),
                ("tcp_port", "\(store.settings.port)"), ("server_time_usec", "\(nowMs * 1_000)"),
                ("uptime_in_seconds", "\(uptime)"), ("uptime_in_days", "\(uptime / 86_400)"),
                ("hz", "250"), ("configured_hz", "250"), ("executable", ""), ("config_file", ""),
                ("io_threads_active", "0"), ("server_name", "keel-kv"),
            ])
        case "clients":
            return lines([
                ("connected_clients", "\(store.clients.count.load(ordering: .relaxed))"),
                ("cluster_connections", "0"), ("maxclients", "\(store.settings.maxClients)"),
                ("client_recent_max_input_buffer", "0"), ("client_recent_max_output_buffer", "0"),
                ("blocked_clients", "\(store.blocking.blockedCount.load(ordering: .relaxed))"),
                ("tracking_clients", "0"),
                ("clients_in_timeout_table", "\(store.blocking.blockedCount.load(ordering: .relaxed))"),
            ])
        case "memory":
            let used = KVHeap.used
            let peak = KVHeap.notePeak()
            let limit = store.settings.maxMemory.load(ordering: .relaxed)
            let rss = residentBytes()
            return lines([
                ("used_memory", "\(used)"), ("used_memory_human", human(used)),
                ("used_memory_rss", "\(rss)"), ("used_memory_rss_human", human(rss)),
                ("used_memory_peak", "\(peak)"), ("used_memory_peak_human", human(peak)),
                ("maxmemory", "\(limit)"), ("maxmemory_human", human(limit)),
                ("maxmemory_policy", store.settings.evictionPolicy.name),
                ("mem_fragmentation_ratio", used > 0 ? String(format2(Double(rss) / Double(used))) : "0"),
                ("mem_allocator", "libc"),
                ("lazyfree_pending_objects", "\(KVLazyFree.shared.pending.load(ordering: .relaxed))"),
            ])
        case "persistence":
            return lines([
                ("loading", "0"), ("async_loading", "0"), ("rdb_changes_since_last_save", "0"),
                ("rdb_bgsave_in_progress", "0"), ("rdb_last_save_time", "\(store.startedAtMs / 1_000)"),
                ("rdb_last_bgsave_status", "ok"), ("aof_enabled", "0"), ("aof_rewrite_in_progress", "0"),
                ("aof_last_bgrewrite_status", "ok"), ("aof_last_write_status", "ok"),
            ])
        case "stats":
            let stats = store.statistics
            let rates = store.rates.figures
            return lines([
                ("total_connections_received", "\(stats.connectionsReceived)"),
                ("total_commands_processed", "\(stats.commandsProcessed)"),
                ("instantaneous_ops_per_sec", "\(rates.opsPerSecond)"),
                ("total_net_input_bytes", "\(stats.netInputBytes)"),
                ("total_net_output_bytes", "\(stats.netOutputBytes)"),
                ("total_net_repl_input_bytes", "0"), ("total_net_repl_output_bytes", "0"),
                ("instantaneous_input_kbps", format2(rates.inputKbps)),
                ("instantaneous_output_kbps", format2(rates.outputKbps)),
                ("instantaneous_input_repl_kbps", "0.00"), ("instantaneous_output_repl_kbps", "0.00"),
                ("rejected_connections", "\(stats.rejectedConnections)"),
                ("sync_full", "\(stats.syncFull)"), ("sync_partial_ok", "\(stats.syncPartialOK)"),
                ("sync_partial_err", "\(stats.syncPartialError)"),
                ("expired_keys", "\(stats.expiredKeys)"), ("evicted_keys", "\(stats.evictedKeys)"),
                ("keyspace_hits", "\(stats.keyspaceHits)"), ("keyspace_misses", "\(stats.keyspaceMisses)"),
                ("pubsub_channels", "\(store.pubsub.activeChannels(matching: nil).count)"),
                ("pubsub_patterns", "\(store.pubsub.patternCount)"),
                ("pubsubshard_channels", "\(store.pubsub.count(of: .shardChannel))"),
                ("acl_access_denied_auth", "\(stats.authFailures)"),
            ])
        case "replication":
            return lines(KVReplicationCommands.infoLines(store, nowMs: store.clock.nowMs))
        case "cpu":
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            func seconds(_ time: timeval) -> String {
                String(format2(Double(time.tv_sec) + Double(time.tv_usec) / 1e6, digits: 6))
            }
            return lines([("used_cpu_sys", seconds(usage.ru_stime)), ("used_cpu_user", seconds(usage.ru_utime))])
        case "modules", "errorstats", "commandstats":
            return ""
        case "cluster":
            return lines([("cluster_enabled", "0")])
        case "keyspace":
            let keys = store.count
            guard keys > 0 else { return "" }
            return lines([("db0", "keys=\(keys),expires=\(store.volatileCount),avg_ttl=0")])
        default:
            return nil
        }
    }

    /// Redis's human sizes: 1.50M, 12.00K, 512B.
    static func human(_ bytes: Int) -> String {
        let units: [(Double, String)] = [(0x1p40, "T"), (0x1p30, "G"), (0x1p20, "M"), (0x1p10, "K")]
        for (size, unit) in units where Double(bytes) >= size { return format2(Double(bytes) / size) + unit }
        return "\(bytes)B"
    }

    /// `value` with `digits` decimals.
    static func format2(_ value: Double, digits: Int = 2) -> String {
        var scaled = (value * pow(10, Double(digits))).rounded()
        if scaled.isNaN || scaled.isInfinite { scaled = 0 }
        let whole = Int(scaled) / Int(pow(10, Double(digits)))
        let fraction = abs(Int(scaled)) % Int(pow(10, Double(digits)))
        let fractionText = String(fraction)
        return "\(whole).\(String(repeating: "0", count: digits - fractionText.count))\(fractionText)"
    }

    /// Resident memory, from /proc/self/statm's second field (pages).
    static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, 128, file) != nil else { return 0 }
        let text = line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        let fields = String(decoding: text, as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
