// Introspection: CLIENT ID/SETNAME/GETNAME/LIST/INFO/KILL, INFO's sections
// and the fields tools parse.

import Synchronization
import Testing

@testable import KeelKV

@Suite struct KVIntrospectionTests {
    @Test func clientListShowsEveryConnectionWithItsNameAndLastCommand() {
        let kv = KVHarness()
        let first = kv.session
        #expect(kv("CLIENT", "SETNAME", "worker") == ok)
        #expect(kv("CLIENT", "GETNAME") == bulk("worker"))
        #expect(
            kv("CLIENT", "SETNAME", "has space")
                == "-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
        let other = kv.openClient()
        kv.use(other)
        kv("SET", "k", "v")
        kv.use(first)
        let list = kv("CLIENT", "LIST")
        #expect(list.contains("id=\(first.id) "))
        #expect(list.contains("id=\(other.id) "))
        #expect(list.contains("name=worker"))
        #expect(list.contains("cmd=client|list"))
        #expect(kv("CLIENT", "ID") == int(first.id))
        #expect(kv("CLIENT", "INFO").contains("id=\(first.id) addr=127.0.0.1:"))
    }

    @Test func clientKillClosesTheOtherConnection() {
        let kv = KVHarness()
        let other = kv.openClient()
        #expect(kv("CLIENT", "KILL", "ID", "\(other.id)") == int(1))
        #expect(kv.loop.closedWithoutLoop == [other.client])
        #expect(kv("CLIENT", "KILL", "ID", "999999") == int(0))
        #expect(kv("CLIENT", "KILL", "127.0.0.1:1") == "-ERR No such client\r\n")
    }

    @Test func infoHasTheSectionsAndFieldsToolsRead() {
        let kv = KVHarness()
        kv("SET", "a", "1")
        kv("SET", "b", "2", "EX", "100")
        kv("GET", "a")
        kv("GET", "missing")
        let info = kv("INFO")
        for section in ["# Server", "# Clients", "# Memory", "# Stats", "# Keyspace"] {
            #expect(info.contains(section), "\(section)")
        }
        #expect(info.contains("db0:keys=2,expires=1,avg_ttl=0\r\n"))
        #expect(info.contains("keyspace_hits:1\r\n"))
        #expect(info.contains("keyspace_misses:1\r\n"))
        #expect(info.contains("connected_clients:1\r\n"))
        #expect(info.contains("used_memory:"))
        let keyspace = kv("INFO", "keyspace")
        #expect(!keyspace.contains("# Server"))
        #expect(kv("INFO", "nosuchsection") == "=4\r\ntxt:\r\n" || kv("INFO", "nosuchsection").hasPrefix("$0\r\n"))
    }

    /// SHUTDOWN stops the server through the action the executable set,
    /// answering nothing and closing its client; its errors as
    /// redis-server's (nothing to save, no shutdown to abort).
    @Test func shutdownCallsTheServersStopAndAnswersNothing() {
        let kv = KVHarness()
        #expect(kv("SHUTDOWN") == "-ERR Errors trying to SHUTDOWN. Check logs.\r\n", "no action set")
        let stops = Atomic(0)
        kv.store.shutdownAction.withLock { $0 = { stops.add(1, ordering: .relaxed) } }
        #expect(kv("SHUTDOWN", "ABORT") == "-ERR No shutdown in progress.\r\n")
        #expect(kv("SHUTDOWN", "NOSAVE", "SAVE") == "-ERR syntax error\r\n")
        #expect(kv("SHUTDOWN", "ABORT", "NOW") == "-ERR syntax error\r\n")
        #expect(kv("SHUTDOWN", "LATER") == "-ERR syntax error\r\n")
        #expect(kv("SHUTDOWN", "SAVE") == "-ERR Errors trying to SHUTDOWN. Check logs.\r\n")
        kv("MULTI")
        #expect(kv("SHUTDOWN").hasPrefix("-ERR Command not allowed inside a transaction"))
        kv("DISCARD")
        #expect(stops.load(ordering: .relaxed) == 0)
        #expect(kv("SHUTDOWN", "NOSAVE", "NOW", "FORCE") == "")
        #expect(stops.load(ordering: .relaxed) == 1)
    }

    /// What keel-kv cannot change but redis-server can is set to the value
    /// it has (test harnesses set every parameter to its own value, as
    /// redis' CONFIG sanity test does), and refused otherwise.
    @Test func fixedParametersTakeTheirOwnValue() {
        let kv = KVHarness()
        for name in ["port", "bind", "maxclients", "timeout", "proto-max-bulk-len", "client-query-buffer-limit"] {
            let value = String(kv("CONFIG", "GET", name).split(separator: "\r\n").last!)
            #expect(kv("CONFIG", "SET", name, value) == ok, "\(name) \(value)")
        }
        #expect(
            kv("CONFIG", "SET", "port", "1")
                == "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n")
    }

    @Test func configResetStatStartsTheStatsFromZero() {
        let kv = KVHarness()
        let received = Atomic<Int>(1_000)
        kv.store.serverTotals.withLock {
            $0 = { KVServerTotals(bytesIn: received.load(ordering: .relaxed), bytesOut: 5_000, rejectedConnections: 3) }
        }
        kv("SET", "a", "1")
        kv("SET", "gone", "1", "PX", "1")
        kv("GET", "a")
        kv("GET", "missing")
        kv.clock.advance(by: 2)
        kv("GET", "gone")
        let before = kv("INFO", "stats")
        #expect(before.contains("keyspace_hits:1\r\n") && before.contains("expired_keys:1\r\n"))
        #expect(before.contains("total_net_input_bytes:1000\r\n") && before.contains("total_net_output_bytes:5000\r\n"))
        #expect(before.contains("rejected_connections:3\r\n"))
        #expect(kv("CONFIG", "RESETSTAT") == ok)
        received.store(1_200, ordering: .relaxed)
        let after = kv("INFO", "stats")
        #expect(after.contains("total_net_input_bytes:200\r\n") && after.contains("total_net_output_bytes:0\r\n"))
        // INFO counts itself before it runs, as redis-server counts RESETSTAT.
        for field in [
            "total_commands_processed:1", "keyspace_hits:0", "keyspace_misses:0", "expired_keys:0", "evicted_keys:0",
        ] {
            #expect(after.contains(field + "\r\n"), "\(field)")
        }
        kv("GET", "a")
        #expect(kv("INFO", "stats").contains("keyspace_hits:1\r\n"), "counting goes on from zero")
    }

    @Test func instantaneousRatesAverageTheSampledWindow() {
        let rates = KVRates()
        #expect(rates.figures == KVRateFigures(), "no rate from fewer than two samples")
        #expect(rates.isDue(nowMs: 0))
        // 16 samples kept: the window is the last 1.5 s whatever came before.
        for step in 0..<40 {
            let atMs = Int64(step) * KVRates.intervalMs
            let commands = step < 20 ? step * 1_000_000 : 20_000_000 + (step - 20) * 100
            rates.record(KVRateSample(atMs: atMs, commands: commands, bytesIn: step * 10_240, bytesOut: step * 1_024))
            #expect(!rates.isDue(nowMs: atMs + KVRates.intervalMs - 1))
        }
        let figures = rates.figures
        #expect(figures.opsPerSecond == 1_000, "100 commands per 100 ms")
        #expect(figures.inputKbps == 100 && figures.outputKbps == 10)
    }

    @Test func errorRepliesAreCountedByTheirCode() {
        let kv = KVHarness()
        kv("SET", "s", "v")
        kv("GET")
        kv("NOSUCH")
        kv("LPUSH", "s", "x")
        kv("MULTI")
        kv("INCR", "s")
        kv("EXEC")
        let errors = kv("INFO", "errorstats")
        #expect(
            errors.contains("# Errorstats\r\nerrorstat_ERR:count=3\r\nerrorstat_WRONGTYPE:count=1\r\n"), "\(errors)")
        #expect(kv("INFO", "stats").contains("total_error_replies:4\r\n"))
        #expect(kv("CONFIG", "RESETSTAT") == ok)
        #expect(!kv("INFO", "errorstats").contains("errorstat_"))
        #expect(kv("INFO", "stats").contains("total_error_replies:0\r\n"))
        #expect(kv("INFO", "cpu").contains("# CPU\r\nused_cpu_sys:"), "redis-server's section title")
    }

    @Test func clientReplyOffAndSkipDropRepliesAsRedisServerDoes() {
        let kv = KVHarness()
        #expect(kv("CLIENT", "REPLY", "OFF") == "")
        #expect(kv("SET", "a", "1") == "", "off: nothing")
        #expect(kv("CLIENT", "REPLY", "SKIP") == "", "skip while off leaves them off")
        #expect(kv("GET", "a") == "")
        #expect(kv("CLIENT", "REPLY", "ON") == ok)
        #expect(kv("GET", "a") == bulk("1"))
        #expect(kv("CLIENT", "REPLY", "SKIP") == "")
        #expect(kv("INCR", "a") == "", "the next command's reply is dropped")
        #expect(kv("INCR", "a") == int(3), "then replies come back")
        #expect(kv("CLIENT", "REPLY", "SKIP") == "")
        #expect(kv("CLIENT", "REPLY", "ON") == ok, "ON right after SKIP is answered")
        #expect(kv("CLIENT", "REPLY", "OFF") == "")
        #expect(kv("RESET") == "+RESET\r\n", "RESET turns replies back on")
        #expect(kv("PING") == "+PONG\r\n")
        #expect(kv("CLIENT", "REPLY", "MAYBE") == "-ERR syntax error\r\n")
    }

    @Test func commandDocsGiveSummaryGroupAndSubcommands() {
        let kv = KVHarness()
        #expect(
            kv("COMMAND", "DOCS", "get")
                == "*2\r\n$3\r\nget\r\n*4\r\n$7\r\nsummary\r\n$34\r\nReturns the string value of a key.\r\n"
                + "$5\r\ngroup\r\n$6\r\nstring\r\n")
        let config = kv("COMMAND", "DOCS", "config")
        #expect(config.contains("$11\r\nsubcommands\r\n"))
        #expect(config.contains("$10\r\nconfig|get\r\n"))
        #expect(kv("COMMAND", "DOCS", "zadd").contains("$5\r\ngroup\r\n$10\r\nsorted-set\r\n"))
        #expect(kv("COMMAND", "DOCS", "expire").contains("$5\r\ngroup\r\n$7\r\ngeneric\r\n"))
        #expect(kv("COMMAND", "DOCS", "nosuch") == "*0\r\n")
    }

    @Test func commandListNamesSubcommandsByTheirFullName() {
        let kv = KVHarness()
        let all = kv("COMMAND", "LIST")
        #expect(all.contains("$11\r\nclient|list\r\n"))
        #expect(all.contains("$3\r\nget\r\n"))
        let config = kv("COMMAND", "LIST", "FILTERBY", "PATTERN", "config*")
        #expect(config.hasPrefix("*6\r\n$6\r\nconfig\r\n") && config.contains("$10\r\nconfig|get\r\n"))
        #expect(kv("COMMAND", "LIST", "FILTERBY", "ACLCAT", "geo").contains("$14\r\ngeosearchstore\r\n"))
        #expect(kv("COMMAND", "INFO", "sort_ro").contains("movablekeys"), "its BY and GET patterns name keys")
    }
}
