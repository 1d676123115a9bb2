// Replication: SYNC and PSYNC answer with an RDB snapshot (checked byte by
// byte where it is fixed, and by its CRC), then the stream carries each
// change as redis-server 7.0 propagates it: as typed, or rewritten to its
// effect (absolute expiry times, pops as the pops they were, expiries as
// DEL), MULTI ... EXEC around a transaction's changes, nothing for reads
// or for writes that changed nothing. A replica gets no replies, and is
// forgotten when its connection closes.

import Foundation
import KeelTestSupport
import Synchronization
import Testing

@testable import KeelKV

@Suite struct KVReplicationTests {
    /// A harness with a replica attached (by SYNC, its snapshot read and
    /// checked), commands coming from another client.
    private func attached(_ kv: KVHarness) -> KVSession {
        let replica = kv.openClient()
        kv.use(replica)
        let reply = kv.run([Array("SYNC".utf8)])
        #expect(Self.isSnapshot(reply))
        kv.use(kv.openClient())
        return replica
    }

    /// Whether `reply` is "$<n>\r\n" and an n-byte RDB file whose CRC holds.
    private static func isSnapshot(_ reply: [UInt8]) -> Bool {
        guard let end = reply.firstIndex(of: 13), reply.first == UInt8(ascii: "$"),
            let length = Int(String(decoding: reply[1..<end], as: UTF8.self))
        else { return false }
        let file = Array(reply[(end + 2)...])
        guard file.count == length, file.count > 17, file.starts(with: Array("REDIS0010".utf8)) else { return false }
        let body = Array(file.dropLast(8))
        let stored = file.suffix(8).enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        return body.last == 0xFF && KVDumpFormat.crc64(body) == stored
    }

    /// The stream `replica` was sent since the last look, as commands.
    private func stream(_ kv: KVHarness, _ replica: KVSession) -> [[String]] {
        let text = kv.delivered().filter { $0.client == replica.client }.map(\.text).joined()
        var commands: [[String]] = []
        var lines = text.components(separatedBy: "\r\n")[...]
        while let header = lines.popFirst(), header.hasPrefix("*"), let count = Int(header.dropFirst()) {
            var command: [String] = []
            for _ in 0..<count {
                _ = lines.popFirst()
                command.append(lines.popFirst() ?? "")
            }
            commands.append(command)
        }
        return commands
    }

    @Test func aSnapshotHoldsTheKeysAndTheStreamBeginsWithSelect() {
        let kv = KVHarness()
        kv("SET", "s", "value")
        kv("SET", "n", "12345")
        kv("RPUSH", "l", "a", "b")
        kv("HSET", "h", "f", "v")
        kv("SADD", "set", "m")
        kv("ZADD", "z", "1.5", "m")
        kv("SET", "e", "v", "PX", "100000")
        let replica = kv.openClient()
        kv.use(replica)
        let reply = kv.run([Array("SYNC".utf8)])
        #expect(Self.isSnapshot(reply))
        let text = String(decoding: reply, as: UTF8.self)
        for name in ["redis-ver", "7.0.15", "repl-id", "value", "s", "l", "h", "set", "z", "e"] {
            #expect(text.contains(name))
        }
        // The expiry of e, in ms, little-endian, after its marker.
        let expiry = (kv.clock.milliseconds.load(ordering: .relaxed) + 100_000)
        let marker = [UInt8(0xFC)] + withUnsafeBytes(of: UInt64(expiry).littleEndian) { Array($0) }
        #expect(reply.indices.contains { reply[$0...].starts(with: marker) })
        kv.use(kv.openClient())
        kv("SET", "after", "1")
        #expect(stream(kv, replica) == [["SELECT", "0"], ["SET", "after", "1"]])
        #expect(kv("INFO", "replication").contains("connected_slaves:1\r\nslave0:ip=127.0.0.1,port=0,state=online"))
    }

    @Test func writesGoAsTypedAndReadsAndNoOpsNot() {
        let kv = KVHarness()
        let replica = attached(kv)
        kv("SET", "a", "1")
        kv("GET", "a")
        kv("SET", "a", "2", "NX")
        kv("DEL", "missing")
        kv("INCR", "a")
        kv("RPUSH", "l", "x", "y")
        kv("LRANGE", "l", "0", "-1")
        kv("HSET", "h", "f", "v")
        kv("DEL", "a", "missing")
        #expect(
            stream(kv, replica) == [
                ["SELECT", "0"], ["SET", "a", "1"], ["INCR", "a"], ["RPUSH", "l", "x", "y"], ["HSET", "h", "f", "v"],
                ["DEL", "a", "missing"],
            ])
    }

    @Test func expiriesGoAsAbsoluteTimesAndPastOnesAsDel() {
        let kv = KVHarness()
        let replica = attached(kv)
        let now = kv.clock.milliseconds.load(ordering: .relaxed)
        kv("SET", "a", "v", "EX", "100")
        kv("SETEX", "b", "10", "v")
        kv("SET", "c", "v", "PXAT", "\(now + 5_000)", "GET")
        kv("EXPIRE", "a", "50")
        kv("PEXPIREAT", "b", "\(now + 7)")
        kv("EXPIREAT", "c", "1")
        kv("GETEX", "a", "PX", "300")
        kv("GETEX", "a", "PERSIST")
        kv("GETEX", "a")
        kv("GETDEL", "a")
        kv("SET", "d", "v")
        let dump = kv.run([Array("DUMP".utf8), Array("d".utf8)])
        let payload = Array(dump.split(separator: 10, maxSplits: 1)[1].dropLast(2))
        kv.run([Array("RESTORE".utf8), Array("r".utf8), Array("1000".utf8), payload])
        #expect(
            stream(kv, replica).map { $0.count > 3 && $0[0] == "RESTORE" ? Array($0[0..<3]) + [$0[4]] : $0 } == [
                ["SELECT", "0"], ["SET", "a", "v", "PXAT", "\(now + 100_000)"],
                ["SET", "b", "v", "PXAT", "\(now + 10_000)"], ["SET", "c", "v", "PXAT", "\(now + 5_000)"],
                ["PEXPIREAT", "a", "\(now + 50_000)"], ["PEXPIREAT", "b", "\(now + 7)"], ["DEL", "c"],
                ["PEXPIREAT", "a", "\(now + 300)"], ["PERSIST", "a"], ["DEL", "a"], ["SET", "d", "v"],
                ["RESTORE", "r", "\(now + 1_000)", "ABSTTL"],
            ])
    }

    @Test func keysThatExpireGoAsDelWhenReadOrSampled() {
        let kv = KVHarness()
        let replica = attached(kv)
        kv("SET", "lazy", "v", "PX", "10")
        kv("SET", "active", "v", "PX", "10")
        _ = stream(kv, replica)
        kv.clock.advance(by: 20)
        kv("GET", "lazy")
        #expect(stream(kv, replica) == [["DEL", "lazy"]])
        for _ in 0..<100 { kv.tick() }
        #expect(stream(kv, replica) == [["DEL", "active"]])
        #expect(kv("DBSIZE") == int(0))
    }

    @Test func popsGoAsThePopsTheyWere() {
        let kv = KVHarness()
        let replica = attached(kv)
        kv("RPUSH", "l", "a", "b", "c")
        kv("LMPOP", "2", "none", "l", "RIGHT", "COUNT", "10")
        kv("RPUSH", "l", "a", "b")
        kv("BLPOP", "l", "0")
        kv("BLMOVE", "l", "m", "LEFT", "RIGHT", "0")
        kv("ZADD", "z", "1", "a", "2", "b", "3", "c")
        kv("ZMPOP", "1", "z", "MAX", "COUNT", "2")
        kv("BZPOPMIN", "z", "0")
        kv("INCRBYFLOAT", "f", "1.5")
        kv("HINCRBYFLOAT", "h", "g", "0.25")
        kv("SADD", "s", "x")
        kv("SPOP", "s")
        kv("SADD", "s", "x", "y")
        kv("SPOP", "s", "5")
        #expect(
            stream(kv, replica) == [
                ["SELECT", "0"], ["RPUSH", "l", "a", "b", "c"], ["RPOP", "l", "3"], ["RPUSH", "l", "a", "b"],
                ["LPOP", "l"], ["LMOVE", "l", "m", "LEFT", "RIGHT"], ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
                ["ZPOPMAX", "z", "2"], ["ZPOPMIN", "z"], ["SET", "f", "1.5", "KEEPTTL"], ["HSET", "h", "g", "0.25"],
                ["SADD", "s", "x"], ["SREM", "s", "x"], ["SADD", "s", "x", "y"], ["DEL", "s"],
            ])
    }

    @Test func aBlockedPopServedLaterGoesAfterThePush() {
        let kv = KVHarness()
        let replica = attached(kv)
        let writer = kv.openClient()
        let waiter = kv.openClient()
        kv.use(waiter)
        kv("BRPOP", "q", "0")
        kv.use(writer)
        kv("LPUSH", "q", "job")
        #expect(stream(kv, replica) == [["SELECT", "0"], ["LPUSH", "q", "job"], ["RPOP", "q"]])
    }

    @Test func transactionsGoBetweenMultiAndExecWhenTheyChangeMoreThanOnce() {
        let kv = KVHarness()
        let replica = attached(kv)
        kv("MULTI")
        kv("SET", "a", "1")
        kv("GET", "a")
        kv("INCR", "a")
        kv("EXEC")
        kv("MULTI")
        kv("SET", "b", "1")
        kv("GET", "b")
        kv("EXEC")
        kv("SADD", "s", "x", "y", "z")
        kv("SPOP", "s", "2")
        let commands = stream(kv, replica)
        #expect(
            Array(commands.prefix(7)) == [
                ["SELECT", "0"], ["MULTI"], ["SET", "a", "1"], ["INCR", "a"], ["EXEC"], ["SET", "b", "1"],
                ["SADD", "s", "x", "y", "z"],
            ])
        // SPOP of two members: an SREM each, together.
        #expect(commands.count == 11)
        guard commands.count == 11 else { return }
        #expect(commands[7] == ["MULTI"] && commands[10] == ["EXEC"])
        #expect(commands[8].prefix(2) == ["SREM", "s"] && commands[9].prefix(2) == ["SREM", "s"])
        #expect(commands[8].last != commands[9].last)
    }

    @Test func anExpiryACommandFindsGoesWithItAndScansGoAlone() {
        let kv = KVHarness()
        let replica = attached(kv)
        kv("SET", "k", "v", "PX", "10")
        kv("SET", "a", "1", "PX", "10")
        kv("SET", "b", "1", "PX", "10")
        _ = stream(kv, replica)
        kv.clock.advance(by: 20)
        kv("SET", "k", "new")
        #expect(stream(kv, replica) == [["MULTI"], ["DEL", "k"], ["SET", "k", "new"], ["EXEC"]])
        kv("SCAN", "0")
        #expect(stream(kv, replica).sorted { $0[1] < $1[1] } == [["DEL", "a"], ["DEL", "b"]])
    }

    @Test func flushesAndPublishesGoEvenWhenNothingChanged() {
        let kv = KVHarness()
        let replica = attached(kv)
        kv("FLUSHALL")
        kv("PUBLISH", "news", "hello")
        kv("SPUBLISH", "shard", "hi")
        kv("FLUSHDB", "ASYNC")
        #expect(
            stream(kv, replica) == [
                ["SELECT", "0"], ["FLUSHALL"], ["PUBLISH", "news", "hello"], ["SPUBLISH", "shard", "hi"],
                ["FLUSHDB", "ASYNC"],
            ])
    }

    @Test func aReplicaGetsNoRepliesAndIsForgottenWhenItCloses() {
        let kv = KVHarness()
        let replica = attached(kv)
        let client = kv.session
        kv.use(replica)
        #expect(kv("PING") == "")
        #expect(kv("REPLCONF", "ACK", "0") == "")
        #expect(kv("SYNC") == "", "a second SYNC is ignored")
        kv.use(client)
        #expect(kv("ROLE") == "*3\r\n$6\r\nmaster\r\n:0\r\n*1\r\n*3\r\n" + bulk("127.0.0.1") + bulk("0") + bulk("0"))
        #expect(kv("CLIENT", "LIST", "TYPE", "replica").contains("flags=S "))
        kv("SET", "a", "1")
        kv.use(replica)
        kv("REPLCONF", "ACK", "37")
        kv.use(client)
        #expect(kv("INFO", "replication").contains("offset=37,lag=0\r\n"))
        #expect(kv("INFO", "replication").contains("master_repl_offset:50\r\n"))
        kv.close(replica)
        #expect(kv("INFO", "replication").contains("connected_slaves:0\r\n"))
        _ = kv.delivered()
        kv("SET", "b", "2")
        #expect(kv.delivered().isEmpty)
        #expect(kv("INFO", "replication").contains("master_repl_offset:77\r\n"), "the backlog is still fed")
    }

    /// PSYNC resumes a replica whose connection dropped, from the offset
    /// it asks for, while the backlog holds the stream from there: the
    /// bytes it missed (written with no replica attached too), then the
    /// stream as it goes on. An unknown id, an offset out of the backlog or
    /// "?" get a full resynchronisation; a backlog kept with no replica
    /// for longer than repl-backlog-ttl is dropped, and the id changes.
    @Test func psyncResumesFromTheBacklog() {
        let kv = KVHarness()
        let first = kv.openClient()
        kv.use(first)
        let full = kv("PSYNC", "?", "-1")
        let id = String(decoding: kv.store.replication.status.id, as: UTF8.self)
        #expect(full.hasPrefix("+FULLRESYNC \(id) 0\r\n"))
        let writer = kv.openClient()
        kv.use(writer)
        kv("SET", "a", "1")
        // The first replica read up to here, then its connection dropped.
        let readUpTo = kv.store.replication.currentOffset
        kv.close(first)
        kv("SET", "b", "2")
        kv("DEL", "a")
        let end = kv.store.replication.currentOffset

        let second = kv.openClient()
        kv.use(second)
        #expect(kv("REPLCONF", "capa", "eof", "capa", "psync2") == ok)
        let resumed = kv("PSYNC", id.uppercased(), String(readUpTo + 1))
        #expect(resumed == "+CONTINUE \(id)\r\n" + bulks("SET", "b", "2") + bulks("DEL", "a"))
        #expect(Int64(resumed.utf8.count - "+CONTINUE \(id)\r\n".utf8.count) == end - readUpTo)
        kv.use(writer)
        kv("SET", "c", "3")
        #expect(stream(kv, second) == [["SET", "c", "3"]], "then the stream goes on")
        let old = kv.openClient()
        kv.use(old)
        #expect(kv("PSYNC", id, String(end + 28)) == "+CONTINUE\r\n", "no id to a replica without psync2")
        kv.close(old)
        kv.use(writer)
        #expect(kv("INFO", "stats").contains("sync_full:1\r\nsync_partial_ok:2\r\nsync_partial_err:0\r\n"))
        let info = kv("INFO", "replication")
        #expect(info.contains("repl_backlog_active:1\r\nrepl_backlog_size:1048576\r\n"))
        #expect(info.contains("repl_backlog_first_byte_offset:1\r\nrepl_backlog_histlen:\(end + 27)\r\n"))

        // Not from the backlog: another id, an offset it no longer holds
        // (the backlog cut to 16 KiB), one past the end.
        kv("CONFIG", "SET", "repl-backlog-size", "1")
        #expect(kv("CONFIG", "GET", "repl-backlog-size") == bulks("repl-backlog-size", "16384"))
        for _ in 0..<200 { kv("SET", "filler", String(repeating: "x", count: 100)) }
        let now = kv.store.replication.currentOffset
        for (asked, offset) in [("0123456789012345678901234567890123456789", now + 1), (id, 1), (id, now + 2)] {
            let client = kv.openClient()
            kv.use(client)
            #expect(kv("PSYNC", asked, String(offset)).hasPrefix("+FULLRESYNC \(id) "), "\(asked) \(offset)")
            kv.close(client)
            kv.use(writer)
        }
        #expect(kv("INFO", "stats").contains("sync_partial_err:3\r\n"))
        #expect(kv("PSYNC", id, "x") == "-ERR value is not an integer or out of range\r\n")

        // No replica for longer than the TTL: the backlog and the id go.
        kv.close(second)
        kv("CONFIG", "SET", "repl-backlog-ttl", "2")
        kv.tick()
        kv.clock.advance(by: 2_001)
        kv.tick()
        #expect(!kv.store.replication.isActive)
        #expect(kv("INFO", "replication").contains("repl_backlog_active:0\r\n"))
        #expect(String(decoding: kv.store.replication.status.id, as: UTF8.self) != id)
    }

    @Test func psyncAnnouncesAFullResynchronisationAndReplconfTakesOptions() {
        let kv = KVHarness()
        #expect(kv("REPLCONF", "listening-port", "6380", "capa", "eof", "capa", "psync2") == ok)
        #expect(kv("REPLCONF", "listening-port") == "-ERR syntax error\r\n")
        #expect(kv("REPLCONF", "bogus", "1") == "-ERR Unrecognized REPLCONF option: bogus\r\n")
        #expect(kv("REPLCONF", "ACK", "1") == "", "ACK from a client that is no replica gets no reply")
        kv("SET", "k", "v")
        let reply = kv("PSYNC", "?", "-1")
        let id = String(decoding: kv.store.replication.status.id, as: UTF8.self)
        #expect(reply.hasPrefix("+FULLRESYNC \(id) 0\r\n$"))
        #expect(kv.store.replication.status.replicas.first?.listeningPort == 6380)
        kv.use(kv.openClient())
        #expect(kv("MULTI") == ok)
        #expect(kv("SYNC") == "-ERR Command not allowed inside a transaction\r\n")
        #expect(kv("EXEC") == "-EXECABORT Transaction discarded because of previous errors.\r\n")
    }

    @Test func pingsKeepTheStreamAliveEveryPeriod() {
        let kv = KVHarness()
        let replica = attached(kv)
        kv("CONFIG", "SET", "repl-ping-replica-period", "2")
        #expect(kv("CONFIG", "GET", "repl-ping-replica-period") == bulks("repl-ping-replica-period", "2"))
        kv.tick()
        #expect(stream(kv, replica).isEmpty)
        kv.clock.advance(by: 2_000)
        kv.tick()
        #expect(stream(kv, replica) == [["PING"]])
    }

    /// WAIT: without replicas the count (0) at once; with one, the client
    /// waits until the replica acknowledges the stream up to its last
    /// command (the replicas are asked: REPLCONF GETACK), an ACK short of
    /// it keeps it waiting; its time up, or CLIENT UNBLOCK, answers the
    /// count then; inside MULTI the count at once.
    @Test func waitAnswersOnceEnoughReplicasAcknowledge() {
        let kv = KVHarness()
        #expect(kv("WAIT", "0", "0") == int(0))
        #expect(kv("WAIT", "1", "-1") == "-ERR timeout is negative\r\n")
        let replica = attached(kv)
        let client = kv.session
        func repliesToClient() -> [String] {
            kv.delivered().filter { $0.client == client.client }.map(\.text)
        }
        kv("SET", "k", "v")
        let offset = kv.store.replication.currentOffset
        #expect(kv("WAIT", "1", "0") == "", "it blocks")
        #expect(kv.store.blocking.blockedCount.load(ordering: .relaxed) == 1, "counted as blocked (INFO)")
        #expect(stream(kv, replica).last == ["REPLCONF", "GETACK", "*"])
        kv.use(replica)
        kv("REPLCONF", "ACK", String(offset - 1))
        #expect(repliesToClient().isEmpty, "an acknowledgement short of its write")
        kv("REPLCONF", "ACK", String(offset))
        #expect(repliesToClient() == [int(1)])

        kv.use(client)
        #expect(kv("WAIT", "2", "100") == "")
        kv.clock.advance(by: 50)
        kv.tick()
        #expect(repliesToClient().isEmpty)
        kv.clock.advance(by: 100)
        kv.tick()
        #expect(repliesToClient() == [int(1)], "one replica of the two asked for, when its time was up")

        kv("SET", "k", "w")
        #expect(kv("WAIT", "1", "0") == "")
        kv.use(kv.openClient())
        #expect(kv("CLIENT", "UNBLOCK", String(client.id)) == int(1))
        #expect(repliesToClient() == [int(0)], "the replica has not acknowledged the second write")
        kv.use(client)
        #expect(kv("MULTI") == ok)
        #expect(kv("WAIT", "5", "0") == "+QUEUED\r\n")
        #expect(kv("EXEC") == "*1\r\n" + int(0))

        // Pipelined: WAIT, a write and another WAIT behind it. The first
        // served runs the rest, and the second blocks again meanwhile.
        #expect(kv("WAIT", "1", "0") == "")
        #expect(kv("SET", "k", "x") == "")
        #expect(kv("WAIT", "1", "0") == "")
        let first = kv.store.replication.currentOffset
        kv.use(replica)
        kv("REPLCONF", "ACK", String(first))
        #expect(repliesToClient() == [int(1), ok], "the first WAIT, then the SET; the second waits")
        let second = kv.store.replication.currentOffset
        #expect(second > first)
        kv("REPLCONF", "ACK", String(second))
        #expect(repliesToClient() == [int(1)])
    }
}

/// A replica brought up to date over many ticks: its snapshot (read back
/// by a small RDB reader and restored into another store) and its stream
/// give the primary's data, whatever was written meanwhile.
@Suite struct KVReplicaSyncTests {
    /// 60,000 keys: more than a debug build walks in one slice.
    private func filled() -> KVHarness {
        let kv = KVHarness()
        for batch in 0..<60 {
            var arguments = [Array("MSET".utf8)]
            for index in (batch * 1_000)..<((batch + 1) * 1_000) {
                arguments += [Array("key:\(index)".utf8), Array("value:\(index)".utf8)]
            }
            kv.run(arguments)
        }
        kv("RPUSH", "list", "a", "b", "c")
        kv("HSET", "hash", "f", "v")
        kv("ZADD", "zset", "1.5", "m")
        kv("SADD", "set", "x", "7")
        kv("SET", "volatile", "v", "PX", "100000")
        return kv
    }

    /// Runs `body` between SYNC and the end of the synchronisation, then
    /// checks that snapshot and stream, replayed, give the primary's data.
    /// The replica reads what was written to it every `readEvery` ticks,
    /// and the clock moves `tickMs` a tick.
    private func synchronise(
        readEvery: Int = 1, tickMs: Int64 = 0, writingMeanwhile body: (KVHarness) -> Void = { _ in }
    ) {
        let kv = filled()
        let auditor = kv.session
        let replica = kv.openClient()
        kv.use(replica)
        #expect(kv("SYNC") == "", "the snapshot comes on later ticks")
        #expect(replica.replicaSync != nil)
        kv.use(auditor)
        #expect(kv("INFO", "replication").contains(",state=wait_bgsave,"))
        body(kv)
        var received: [UInt8] = []
        var ticks = 0
        while replica.replicaSync != nil && ticks < 100_000 {
            ticks += 1
            kv.clock.advance(by: tickMs)
            kv.tick()
            guard ticks % readEvery == 0 else { continue }
            for (target, bytes) in kv.loop.deliveredWithoutLoop where target == replica.client { received += bytes }
            kv.loop.deliveredWithoutLoop.removeAll()
        }
        #expect(replica.replicaSync == nil, "the synchronisation ended")
        kv("SET", "after", "1")
        for (target, bytes) in kv.loop.deliveredWithoutLoop where target == replica.client { received += bytes }
        kv.loop.deliveredWithoutLoop.removeAll()
        let copy = KVHarness()
        guard let rest = RDBReader.restore(received, into: copy) else {
            Issue.record("no snapshot in \(received.prefix(40))")
            return
        }
        for command in KVCommandFuzzTests.commands(in: rest) { copy.run(command) }
        #expect(copy("DBSIZE") == kv("DBSIZE"))
        #expect(copy("DEBUG", "DIGEST") == kv("DEBUG", "DIGEST"))
        #expect(copy("GET", "after") == bulk("1"))
    }

    @Test func writesDuringTheSnapshotReachTheReplicaAsValues() {
        synchronise { kv in
            kv("SET", "key:5", "changed")
            kv("DEL", "key:59999")
            kv("SET", "new", "1")
            kv("INCR", "new")
            kv("RPUSH", "list", "d")
            kv("EXPIRE", "key:7", "1000")
            kv("RENAME", "key:8", "moved")
            for _ in 0..<20 { kv.tick() }
            kv("APPEND", "key:40000", "+")
            kv("SET", "key:5", "changed again")
        }
    }

    /// The snapshot (about 1.4 MB here) goes out a megabyte at a time as
    /// the replica reads; seconds pass between its pieces. A keepalive
    /// newline written between them landed inside the snapshot, and
    /// redis-server's replica failed to load it (found with 1.8M keys).
    @Test func aSnapshotSentOverSecondsCarriesNoKeepalive() {
        synchronise(readEvery: 3, tickMs: 1_500)
    }

    @Test func aFlushDuringTheSnapshotStartsItAgain() {
        synchronise { kv in
            for _ in 0..<5 { kv.tick() }
            kv("FLUSHALL")
            kv("SET", "survivor", "1")
            kv("HSET", "h", "a", "b")
        }
    }

    @Test func aReplicaThatLeavesMidSnapshotLetsTablesResizeAgain() {
        let kv = filled()
        let replica = kv.openClient()
        kv.use(replica)
        kv("SYNC")
        #expect(kv.store.shards.allSatisfy { $0.snapshotWalks == 1 })
        kv.close(replica)
        #expect(kv.store.shards.allSatisfy { $0.snapshotWalks == 0 })
        #expect(kv.store.replication.status.replicas.isEmpty)
        for _ in 0..<10 { kv.tick() }
    }
}

/// Reads an RDB file as KVSnapshotWalk writes it (plain types, no LZF) and
/// restores its keys with RESTORE; returns the bytes after it.
enum RDBReader {
    static func restore(_ bytes: [UInt8], into kv: KVHarness) -> [UInt8]? {
        // Newlines are keepalives before the snapshot.
        let bytes = Array(bytes.drop { $0 == 10 })
        guard let end = bytes.firstIndex(of: 10), bytes.first == UInt8(ascii: "$"),
            let length = Int(String(decoding: bytes[1..<(end - 1)], as: UTF8.self))
        else { return nil }
        guard bytes.count >= end + 1 + length, length > 9 else { return nil }
        let file = Array(bytes[(end + 1)..<(end + 1 + length)])
        // Whole and unchanged: it ends with 0xFF and the CRC64 of what is before.
        let checksum = file[(length - 8)...].enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        guard file[length - 9] == 0xFF, KVDumpFormat.crc64(Array(file[..<(length - 8)])) == checksum else { return nil }
        var reader = Reader(bytes: file, position: 9)
        var expiry: UInt64?
        while let opcode = reader.byte() {
            switch opcode {
            case 0xFA:
                _ = reader.string()
                _ = reader.string()
            case 0xFE: _ = reader.length()
            case 0xFB:
                _ = reader.length()
                _ = reader.length()
            case 0xFC:
                expiry = reader.take(8).enumerated().reduce(UInt64(0)) {
                    $0 | UInt64($1.element) << (8 * UInt64($1.offset))
                }
            case 0xFF: return Array(bytes[(end + 1 + length)...])
            default:
                let key = reader.string()
                let start = reader.position
                reader.skipBody(type: opcode)
                var payload = [opcode] + Array(file[start..<reader.position]) + [10, 0]
                let crc = KVDumpFormat.crc64(payload)
                payload += withUnsafeBytes(of: crc.littleEndian) { Array($0) }
                var arguments = [Array("RESTORE".utf8), key, Array(String(expiry ?? 0).utf8), payload]
                if expiry != nil { arguments.append(Array("ABSTTL".utf8)) }
                kv.run(arguments)
                expiry = nil
            }
        }
        return nil
    }

    struct Reader {
        let bytes: [UInt8]
        var position: Int

        mutating func byte() -> UInt8? {
            guard position < bytes.count else { return nil }
            defer { position += 1 }
            return bytes[position]
        }

        mutating func take(_ count: Int) -> [UInt8] {
            defer { position += count }
            return Array(bytes[position..<(position + count)])
        }

        /// A length, or for an integer string its width as a negative number.
        mutating func length() -> Int {
            let first = byte()!
            switch first >> 6 {
            case 0: return Int(first & 0x3F)
            case 1: return Int(first & 0x3F) << 8 | Int(byte()!)
            case 2:
                let count = first == 0x80 ? 4 : 8
                return take(count).reduce(0) { $0 << 8 | Int($1) }
            default: return -[1, 2, 4][Int(first & 0x3F)]
            }
        }

        mutating func string() -> [UInt8] {
            let count = length()
            guard count < 0 else { return take(count) }
            let raw = take(-count)
            let unsigned = raw.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            let shift = UInt64(64 - 8 * raw.count)
            return Array(String(Int64(bitPattern: unsigned << shift) >> Int64(shift)).utf8)
        }

        mutating func skipBody(type: UInt8) {
            switch type {
            case 0: _ = string()
            case 1, 2: for _ in 0..<length() { _ = string() }
            case 4: for _ in 0..<(2 * length()) { _ = string() }
            case 5:
                for _ in 0..<length() {
                    _ = string()
                    position += 8
                }
            default: preconditionFailure("RDB type \(type) is not one KVSnapshotWalk writes")
            }
        }
    }
}

/// A flag one thread sets and another reads.
private final class Finished: Sendable {
    let value = Atomic<Bool>(false)
}

/// Two loops over one store, each on its own thread: a replica on one, a
/// writer on the other while the replica's snapshot is walked, caught up
/// and streamed (ThreadSanitizer runs it too).
@Suite struct KVReplicationAcrossLoopsTests {
    @Test func aReplicaFollowsAWriterOnAnotherLoop() {
        let primary = KVHarness(loops: 2)
        for batch in 0..<20 {
            var arguments = [Array("MSET".utf8)]
            for index in (batch * 1_000)..<((batch + 1) * 1_000) {
                arguments += [Array("key:\(index)".utf8), Array("value:\(index)".utf8)]
            }
            primary.run(arguments)
        }
        // The writer's loop, its own thread's from the writer's start (a
        // loop runs on one thread).
        nonisolated(unsafe) let other = KVHarness(sharing: primary, loopIndex: 1)
        let replica = primary.openClient()
        primary.use(replica)
        let reply = primary.run([Array("SYNC".utf8)])
        var received = reply
        let finished = Finished()
        let writer = Thread {
            for step in 0..<4_000 {
                other("INCR", "counter")
                other("RPUSH", "list", "x\(step)")
                other("SET", "key:\(step * 7 % 20_000)", "written:\(step)")
                other("DEL", "key:\(step * 13 % 20_000)")
                if step % 100 == 0 { other("EXPIRE", "key:\(step)", "1000") }
                if step % 500 == 0 { other("MULTI") }
                if step % 500 == 3 { other("EXEC") }
            }
            finished.value.store(true, ordering: .releasing)
        }
        writer.start()
        // The replica's loop meanwhile: its ticks walk, catch up and send.
        var ticks = 0
        while (!finished.value.load(ordering: .acquiring) || replica.replicaSync != nil) && ticks < 1_000_000 {
            ticks += 1
            primary.tick()
            for (target, bytes) in primary.loop.deliveredWithoutLoop where target == replica.client {
                received += bytes
            }
            primary.loop.deliveredWithoutLoop.removeAll()
        }
        other("SET", "done", "1")
        primary.tick()
        for (target, bytes) in primary.loop.deliveredWithoutLoop where target == replica.client { received += bytes }
        #expect(replica.replicaSync == nil)
        let copy = KVHarness()
        guard let rest = RDBReader.restore(received, into: copy) else {
            Issue.record("no snapshot")
            return
        }
        for command in KVCommandFuzzTests.commands(in: rest) { copy.run(command) }
        #expect(copy("GET", "done") == bulk("1"))
        #expect(copy("GET", "counter") == bulk("4000"))
        #expect(copy("DEBUG", "DIGEST") == other("DEBUG", "DIGEST"))
    }
}

/// The backlog's ring against a plain array of the whole stream: after any
/// appends (some larger than the ring, some wrapping it), and resizes, it
/// holds the stream's last bytes, and any suffix of them is theirs.
@Suite struct KVBacklogTests {
    /// A 100-byte ring, and one of 100,000 that grows (16 KiB, doubling)
    /// as appends of up to 5,000 bytes come.
    @Test(arguments: [(1, 100), (2, 100), (3, 100), (4, 100_000), (5, 100_000)])
    func holdsTheStreamsLastBytes(seed: UInt64, capacity: Int) {
        var generator = SeededRandom(seed: seed)
        var backlog = KVBacklog(capacity: capacity)
        let largest = capacity / 20 + 30
        var stream: [UInt8] = []
        var held = 0
        for step in 0..<500 {
            let count = Int.random(in: 0...largest, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            backlog.append(bytes)
            stream += bytes
            held = min(held + count, backlog.capacity)
            if step % 97 == 96 {
                backlog = backlog.resized(to: Int.random(in: 1...capacity * 3 / 2, using: &generator))
                held = min(held, backlog.capacity)
            }
            #expect(backlog.count == held, "step \(step)")
            let last = Int.random(in: 0...backlog.count, using: &generator)
            #expect(backlog.suffix(last) == Array(stream.suffix(last)), "step \(step)")
        }
        #expect(backlog.suffix(backlog.count) == Array(stream.suffix(backlog.count)))
    }
}
