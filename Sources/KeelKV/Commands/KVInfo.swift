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
            let title = name == "cpu" ? "CPU" : name.prefix(1).uppercased() + name.dropFirst()
            text += "# \(title)\r\n" + body
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
                ("atomicvar_api", "c11-builtin"), ("gcc_version", "0.0.0"), ("process_id", "\(getpid())"),
                ("process_supervised", "no"), ("run_id", runID),
                // The TLS port when there is no plaintext one, as redis-server says.
                ("tcp_port", "\(store.settings.port != 0 ? store.settings.port : store.settings.tlsPort)"),
                ("server_time_usec", "\(nowMs * 1_000)"),
                ("uptime_in_seconds", "\(uptime)"), ("uptime_in_days", "\(uptime / 86_400)"),
                ("hz", "250"), ("configured_hz", "250"), ("lru_clock", "\((nowMs / 1_000) & 0xFF_FFFF)"),
                ("executable", ""), ("config_file", ""),
                ("io_threads_active", "0"), ("server_name", "keel-kv"),
            ])
        case "clients":
            return lines([
                ("connected_clients", "\(store.clients.count.load(ordering: .relaxed))"),
                ("cluster_connections", "0"), ("maxclients", "\(store.settings.maxClients)"),
                ("client_recent_max_input_buffer", "0"), ("client_recent_max_output_buffer", "0"),
                (
                    "blocked_clients",
                    "\(store.blocking.blockedCount.load(ordering: .relaxed) + store.clientPause.postponed.load(ordering: .relaxed))"
                ),
                ("tracking_clients", "\(store.tracking.clientCount.load(ordering: .relaxed))"),
                ("clients_in_timeout_table", "\(store.blocking.blockedCount.load(ordering: .relaxed))"),
            ])
        case "memory":
            let used = KVHeap.used
            let peak = KVHeap.notePeak()
            let limit = store.settings.maxMemory.load(ordering: .relaxed)
            let rss = residentBytes()
            let system = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
            // No split of the count into overhead and data, and glibc's
            // malloc has no statistics to read cheaply: those fields read
            // as redis-server's built with libc reads them (zeros).
            return lines([
                ("used_memory", "\(used)"), ("used_memory_human", human(used)),
                ("used_memory_rss", "\(rss)"), ("used_memory_rss_human", human(rss)),
                ("used_memory_peak", "\(peak)"), ("used_memory_peak_human", human(peak)),
                ("used_memory_peak_perc", percent(used, of: peak)), ("used_memory_overhead", "0"),
                ("used_memory_startup", "0"), ("used_memory_dataset", "\(used)"),
                ("used_memory_dataset_perc", percent(used, of: used)), ("allocator_allocated", "0"),
                ("allocator_active", "0"), ("allocator_resident", "0"), ("total_system_memory", "\(system)"),
                ("total_system_memory_human", human(system)), ("used_memory_lua", "0"), ("used_memory_vm_eval", "0"),
                ("used_memory_lua_human", "0B"), ("used_memory_scripts_eval", "0"), ("number_of_cached_scripts", "0"),
                ("number_of_functions", "0"), ("number_of_libraries", "0"), ("used_memory_vm_functions", "0"),
                ("used_memory_vm_total", "0"), ("used_memory_vm_total_human", "0B"), ("used_memory_functions", "0"),
                ("used_memory_scripts", "0"), ("used_memory_scripts_human", "0B"),
                ("maxmemory", "\(limit)"), ("maxmemory_human", human(limit)),
                ("maxmemory_policy", store.settings.evictionPolicy.name), ("allocator_frag_ratio", "0.00"),
                ("allocator_frag_bytes", "0"), ("allocator_rss_ratio", "0.00"), ("allocator_rss_bytes", "0"),
                ("rss_overhead_ratio", "0.00"), ("rss_overhead_bytes", "0"),
                ("mem_fragmentation_ratio", used > 0 ? String(format2(Double(rss) / Double(used))) : "0"),
                ("mem_fragmentation_bytes", "\(rss - used)"), ("mem_not_counted_for_evict", "0"),
                ("mem_replication_backlog", "0"), ("mem_total_replication_buffers", "0"), ("mem_clients_slaves", "0"),
                ("mem_clients_normal", "0"), ("mem_cluster_links", "0"), ("mem_aof_buffer", "0"),
                ("mem_allocator", "libc"), ("active_defrag_running", "0"),
                ("lazyfree_pending_objects", "\(KVLazyFree.shared.pending.load(ordering: .relaxed))"),
                ("lazyfreed_objects", "0"),
            ])
        case "persistence":
            return lines([
                ("loading", "0"), ("async_loading", "0"), ("current_cow_peak", "0"), ("current_cow_size", "0"),
                ("current_cow_size_age", "0"), ("current_fork_perc", "0.00"), ("current_save_keys_processed", "0"),
                ("current_save_keys_total", "0"), ("rdb_changes_since_last_save", "0"),
                ("rdb_bgsave_in_progress", "0"), ("rdb_last_save_time", "\(store.startedAtMs / 1_000)"),
                ("rdb_last_bgsave_status", "ok"), ("rdb_last_bgsave_time_sec", "-1"),
                ("rdb_current_bgsave_time_sec", "-1"), ("rdb_saves", "0"), ("rdb_last_cow_size", "0"),
                ("rdb_last_load_keys_expired", "0"), ("rdb_last_load_keys_loaded", "0"), ("aof_enabled", "0"),
                ("aof_rewrite_in_progress", "0"), ("aof_rewrite_scheduled", "0"), ("aof_last_rewrite_time_sec", "-1"),
                ("aof_current_rewrite_time_sec", "-1"), ("aof_last_bgrewrite_status", "ok"), ("aof_rewrites", "0"),
                ("aof_rewrites_consecutive_failures", "0"), ("aof_last_write_status", "ok"),
                ("aof_last_cow_size", "0"), ("module_fork_in_progress", "0"), ("module_fork_last_cow_size", "0"),
            ])
        case "stats":
            let stats = store.statistics
            let rates = store.rates.figures
            let tracked = store.tracking.totals
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
                ("expired_keys", "\(stats.expiredKeys)"), ("expired_stale_perc", "0.00"),
                ("expired_time_cap_reached_count", "0"), ("expire_cycle_cpu_milliseconds", "0"),
                ("evicted_keys", "\(stats.evictedKeys)"), ("evicted_clients", "0"),
                ("total_eviction_exceeded_time", "0"), ("current_eviction_exceeded_time", "0"),
                ("keyspace_hits", "\(stats.keyspaceHits)"), ("keyspace_misses", "\(stats.keyspaceMisses)"),
                ("pubsub_channels", "\(store.pubsub.activeChannels(matching: nil).count)"),
                ("pubsub_patterns", "\(store.pubsub.patternCount)"),
                ("pubsubshard_channels", "\(store.pubsub.count(of: .shardChannel))"), ("latest_fork_usec", "0"),
                ("total_forks", "0"), ("migrate_cached_sockets", "0"), ("slave_expires_tracked_keys", "0"),
                ("active_defrag_hits", "0"), ("active_defrag_misses", "0"), ("active_defrag_key_hits", "0"),
                ("active_defrag_key_misses", "0"), ("total_active_defrag_time", "0"),
                ("current_active_defrag_time", "0"), ("tracking_total_keys", "\(tracked.keys)"),
                ("tracking_total_items", "\(tracked.items)"), ("tracking_total_prefixes", "\(tracked.prefixes)"),
                ("unexpected_error_replies", "0"),
                ("total_error_replies", "\(store.counters.errors.total)"),
                ("dump_payload_sanitizations", "0"), ("total_reads_processed", "0"), ("total_writes_processed", "0"),
                ("io_threaded_reads_processed", "0"), ("io_threaded_writes_processed", "0"),
                ("reply_buffer_shrinks", "0"), ("reply_buffer_expands", "0"),
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
            // The main thread's: the loop's that runs INFO.
            var thread = rusage()
            getrusage(1, &thread)  // RUSAGE_THREAD (a GNU extension Glibc does not import)
            return lines([
                ("used_cpu_sys", seconds(usage.ru_stime)), ("used_cpu_user", seconds(usage.ru_utime)),
                ("used_cpu_sys_children", "0.000000"), ("used_cpu_user_children", "0.000000"),
                ("used_cpu_sys_main_thread", seconds(thread.ru_stime)),
                ("used_cpu_user_main_thread", seconds(thread.ru_utime)),
            ])
        case "errorstats":
            let counts = store.counters.errors.byCode
            return lines(counts.sorted { $0.key < $1.key }.map { ("errorstat_\($0.key)", "count=\($0.value)") })
        case "commandstats":
            // Every command run, refused or failed since the last RESETSTAT;
            // usec 0: no clock is read per command.
            var rows: [(String, String)] = []
            for row in KVCommandTable.all {
                for (name, spec) in [(row.nameText, row)]
                    + row.subcommands.map({ ("\(row.nameText)|\($0.nameText)", $0) })
                {
                    let calls = store.counters.commandCount(.calls, spec)
                    let rejected = store.counters.commandCount(.rejected, spec)
                    let failed = store.counters.commandCount(.failed, spec)
                    guard calls + rejected + failed > 0 else { continue }
                    rows.append(
                        (
                            "cmdstat_\(name)",
                            "calls=\(calls),usec=0,usec_per_call=0.00,rejected_calls=\(rejected),failed_calls=\(failed)"
                        ))
                }
            }
            return lines(rows.sorted { $0.0 < $1.0 })
        case "modules":
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

    /// `part` as a percentage of `whole`, as "12.50%".
    static func percent(_ part: Int, of whole: Int) -> String {
        format2(whole > 0 ? Double(part) * 100 / Double(whole) : 0) + "%"
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
