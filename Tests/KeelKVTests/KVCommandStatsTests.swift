// INFO commandstats: calls, refusals before a command runs and error
// replies, per command and subcommand, as redis-server counts them; CONFIG
// RESETSTAT clears them.

import Testing

@testable import KeelKV

@Suite struct KVCommandStatsTests {
    static func stat(_ kv: KVHarness, _ name: String) -> String? {
        kv("INFO", "commandstats").split(separator: "\r\n").first { $0.hasPrefix("cmdstat_\(name):") }.map(String.init)
    }

    @Test func callsRefusalsAndFailuresAreCounted() {
        let kv = KVHarness()
        kv("CONFIG", "RESETSTAT")
        kv("SET", "a", "1")
        kv("SET", "a")
        kv("LPUSH", "a", "x")
        kv("GET", "a")
        kv("GET", "a")
        kv("CLIENT", "ID")
        kv("MULTI")
        kv("INCR", "n")
        kv("EXEC")
        #expect(Self.stat(kv, "set") == "cmdstat_set:calls=1,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0")
        #expect(
            Self.stat(kv, "lpush") == "cmdstat_lpush:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1")
        #expect(Self.stat(kv, "get")?.hasPrefix("cmdstat_get:calls=2,") == true)
        #expect(Self.stat(kv, "client|id")?.hasPrefix("cmdstat_client|id:calls=1,") == true)
        #expect(Self.stat(kv, "incr")?.hasPrefix("cmdstat_incr:calls=1,") == true, "counted when EXEC runs it")
        #expect(Self.stat(kv, "exec")?.hasPrefix("cmdstat_exec:calls=1,") == true)
        #expect(kv("INFO").contains("cmdstat_") == false, "not in the default sections")
        #expect(kv("INFO", "all").contains("cmdstat_set:"))
        kv("CONFIG", "RESETSTAT")
        #expect(Self.stat(kv, "set") == nil)
    }

    @Test func aRefusedCommandIsCountedForItsSubcommand() {
        let kv = KVHarness()
        let admin = kv.session
        kv("CLIENT", "SETNAME")
        kv("CONFIG", "SET", "requirepass", "secret")
        kv.use(kv.openClient())
        kv("GET", "a")
        kv.use(admin)
        #expect(Self.stat(kv, "client|setname")?.contains("rejected_calls=1,") == true)
        #expect(Self.stat(kv, "get")?.hasPrefix("cmdstat_get:calls=0,") == true)
    }
}
