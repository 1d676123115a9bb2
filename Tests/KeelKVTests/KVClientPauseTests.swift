// CLIENT PAUSE and UNPAUSE as redis-server 7 has them: WRITE holds back
// what writes or may be replicated, ALL holds back everything; held
// commands run in the order they came when the pause ends (UNPAUSE or its
// deadline); a stricter kind and a later end win; the store stands still
// meanwhile (no key expires or is evicted).

import Testing

@testable import KeelKV

@Suite struct KVClientPauseTests {
    @Test func writePauseHoldsWritesAndAnswersReads() {
        let kv = KVHarness()
        let admin = kv.session
        kv("SET", "k", "v")
        #expect(kv("CLIENT", "PAUSE", "100000", "WRITE") == ok)
        let client = kv.openClient()
        kv.use(client)
        #expect(kv("GET", "k") == bulk("v"))
        #expect(kv("PING") == "+PONG\r\n")
        #expect(kv("SET", "k", "w").isEmpty, "a write waits")
        #expect(kv("GET", "k").isEmpty, "what follows waits behind it")
        kv.use(admin)
        #expect(kv("INFO", "clients").contains("blocked_clients:1"))
        #expect(kv("GET", "k") == bulk("v"))
        #expect(kv("CLIENT", "UNPAUSE") == ok)
        #expect(kv.delivered().map(\.text) == [ok, bulk("w")])
        #expect(kv("INFO", "clients").contains("blocked_clients:0"))
    }

    @Test func mayReplicateCommandsArePausedAsWrites() {
        let kv = KVHarness()
        let admin = kv.session
        kv("CLIENT", "PAUSE", "100000", "WRITE")
        let publisher = kv.openClient()
        kv.use(publisher)
        #expect(kv("PUBLISH", "ch", "m").isEmpty)
        let caller = kv.openClient()
        kv.use(caller)
        #expect(kv("FCALL", "f", "0").isEmpty)
        kv.use(admin)
        #expect(kv("FCALL_RO", "f", "0") == "-ERR Function not found\r\n", "read-only: not held")
        kv("CLIENT", "UNPAUSE")
        #expect(kv.delivered().map(\.text) == [int(0), "-ERR Function not found\r\n"])
    }

    @Test func allPauseHoldsEveryCommandIncludingThePausersOwn() {
        let kv = KVHarness()
        let admin = kv.session
        #expect(kv("CLIENT", "PAUSE", "500") == ok)
        #expect(kv("PING").isEmpty)
        #expect(kv("CLIENT", "UNPAUSE").isEmpty, "held too, as redis-server holds it")
        let other = kv.openClient()
        kv.use(other)
        #expect(kv("GET", "k").isEmpty)
        kv.clock.advance(by: 499)
        kv.tick()
        #expect(kv.delivered().isEmpty)
        kv.clock.advance(by: 2)
        kv.tick()
        let sent = kv.delivered()
        #expect(sent.map(\.client) == [admin.client, admin.client, other.client])
        #expect(sent.map(\.text) == ["+PONG\r\n", ok, nullBulk])
        #expect(kv("QUIT") == ok)
    }

    @Test func allHoldsQuitToo() {
        let kv = KVHarness()
        let admin = kv.session
        kv("CLIENT", "PAUSE", "100000", "ALL")
        let client = kv.openClient()
        kv.use(client)
        #expect(kv("QUIT").isEmpty, "held, as redis-server 7.0.15 holds it")
        kv.use(admin)
        kv.clock.advance(by: 100_001)
        kv.tick()
        #expect(kv.delivered().map { $0.client } == [client.client])
        #expect(kv.loop.closedWithoutLoop == [client.client], "QUIT's close came with its reply")
    }

    @Test func aPauseOfZeroMakesAPauseOnStricter() {
        let kv = KVHarness()
        kv("CLIENT", "PAUSE", "100000", "WRITE")
        #expect(kv("CLIENT", "PAUSE", "0", "ALL") == ok)
        let reader = kv.openClient()
        kv.use(reader)
        #expect(kv("GET", "k").isEmpty, "ALL now")
    }

    @Test func heldWritesGoBeforeWhatComesAfterThePauseEnds() {
        let kv = KVHarness()
        kv("CLIENT", "PAUSE", "100", "WRITE")
        let first = kv.openClient()
        kv.use(first)
        #expect(kv("SET", "k", "1").isEmpty)
        kv.clock.advance(by: 200)
        let second = kv.openClient()
        kv.use(second)
        #expect(kv("SET", "k", "2") == ok, "ran after the held SET, before any tick")
        #expect(kv.delivered().map(\.text) == [ok])
        #expect(kv("GET", "k") == bulk("2"))
    }

    @Test func aWriteOverMaxmemoryIsHeldNotRefused() {
        let memory = KeyCountMemory(bytesPerKey: 100)
        let kv = KVHarness(memoryReading: { memory.reading })
        memory.attach(kv.store)
        kv("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        kv("SET", "a", "1")
        kv("SET", "b", "1")
        kv("CONFIG", "SET", "maxmemory", "150")
        kv("CLIENT", "PAUSE", "100000", "WRITE")
        let writer = kv.openClient()
        kv.use(writer)
        #expect(kv("SET", "c", "1").isEmpty, "held, not -OOM")
        #expect(kv("DBSIZE").isEmpty, "behind it")
    }

    @Test func theStricterKindAndTheLaterEndWin() {
        let kv = KVHarness()
        let admin = kv.session
        kv("CLIENT", "PAUSE", "60000", "WRITE")
        kv("CLIENT", "PAUSE", "10", "WRITE")
        kv.clock.advance(by: 100)
        kv.tick()
        let writer = kv.openClient()
        kv.use(writer)
        #expect(kv("SET", "a", "1").isEmpty, "the longer pause holds")
        kv.use(admin)
        #expect(kv("CLIENT", "PAUSE", "10", "ALL") == ok)
        #expect(kv("GET", "a").isEmpty, "ALL now, until the later end")
        kv.clock.advance(by: 20)
        kv.tick()
        #expect(kv.delivered().isEmpty)
        kv.clock.advance(by: 60_000)
        kv.tick()
        #expect(kv.delivered().map(\.text) == [ok, bulk("1")])
    }

    @Test func malformedCommandsAreAnsweredAtOnce() {
        let kv = KVHarness()
        kv("CLIENT", "PAUSE", "100000", "WRITE")
        #expect(kv("SET", "k") == "-ERR wrong number of arguments for 'set' command\r\n")
        #expect(kv("NOSUCH") == "-ERR unknown command 'NOSUCH', with args beginning with: \r\n")
        kv("CLIENT", "UNPAUSE")
        #expect(kv("CLIENT", "PAUSE", "10", "READ") == "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n")
        #expect(kv("CLIENT", "PAUSE", "x") == "-ERR timeout is not an integer or out of range\r\n")
        #expect(kv("CLIENT", "PAUSE", "-1", "ALL") == "-ERR timeout is negative\r\n")
        #expect(kv("CLIENT", "PAUSE", "9223372036854775807") == ok, "its end wraps to the past, as in 7.0")
        #expect(kv("SET", "k", "v") == ok)
        #expect(
            kv("CLIENT", "PAUSE", "1", "ALL", "x")
                == "-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.\r\n")
        #expect(kv("CLIENT", "UNPAUSE", "x") == "-ERR wrong number of arguments for 'client|unpause' command\r\n")
        #expect(kv("CLIENT", "PAUSE", "0") == ok, "0 pauses nothing")
        #expect(kv("SET", "k", "v") == ok)
    }

    @Test func transactionsArePausedByWhatTheyQueue() {
        let kv = KVHarness()
        let admin = kv.session
        kv("SET", "foo", "bar")
        let reader = kv.openClient()
        let writer = kv.openClient()
        kv.use(writer)
        kv("MULTI")
        #expect(kv("SET", "foo", "baz") == "+QUEUED\r\n")
        kv.use(admin)
        kv("CLIENT", "PAUSE", "100000", "WRITE")
        kv.use(reader)
        kv("MULTI")
        #expect(kv("PING") == "+QUEUED\r\n")
        #expect(kv("GET", "foo") == "+QUEUED\r\n")
        #expect(kv("EXEC") == "*2\r\n+PONG\r\n" + bulk("bar"), "read-only: not held")
        kv("MULTI")
        #expect(kv("SET", "x", "1").isEmpty, "a write is held before it is queued, as redis-server holds it")
        kv.use(writer)
        #expect(kv("EXEC").isEmpty, "its queue writes")
        kv.use(admin)
        kv("CLIENT", "UNPAUSE")
        #expect(kv.delivered().map(\.text) == ["+QUEUED\r\n", "*1\r\n" + ok])
        #expect(kv("GET", "foo") == bulk("baz"))
    }

    @Test func aPauseInsideATransactionStartsAtItsEnd() {
        let kv = KVHarness()
        kv("MULTI")
        kv("SET", "a", "1")
        kv("CLIENT", "PAUSE", "60000", "WRITE")
        kv("SET", "b", "2")
        #expect(kv("EXEC") == "*3\r\n" + ok + ok + ok)
        let other = kv.openClient()
        kv.use(other)
        #expect(kv("SET", "c", "3").isEmpty)
        #expect(kv("MGET", "a", "b", "c").isEmpty, "behind the held SET")
        kv.clock.advance(by: 60_001)
        kv.tick()
        #expect(kv.delivered().map(\.text) == [ok, bulks("1", "2", "3")])
    }

    @Test func keysDoNotExpireWhileClientsArePaused() {
        let kv = KVHarness()
        kv("MULTI")
        kv("SET", "foo", "bar", "PX", "10")
        kv("SET", "baz", "qux", "PX", "10")
        kv("CLIENT", "PAUSE", "50000", "WRITE")
        kv("EXEC")
        kv.clock.advance(by: 20)
        for _ in 0..<5 { kv.tick() }
        #expect(kv("GET", "foo") == nullBulk, "logically expired")
        #expect(kv("RANDOMKEY").hasPrefix("$3\r\n"), "a held key, not a null or a spin")
        #expect(kv("DBSIZE") == int(2), "but kept")
        #expect(kv("INFO", "stats").contains("expired_keys:0\r\n"))
        kv("CLIENT", "UNPAUSE")
        #expect(kv("GET", "foo") == nullBulk)
        #expect(kv("GET", "baz") == nullBulk)
        #expect(kv("INFO", "stats").contains("expired_keys:2\r\n"))
        #expect(kv("RANDOMKEY") == nullBulk)
    }

    @Test func clientUnblockDoesNotReleaseAPausedClient() {
        let kv = KVHarness()
        let admin = kv.session
        kv("CLIENT", "PAUSE", "100000", "WRITE")
        let waiter = kv.openClient()
        kv.use(waiter)
        #expect(kv("BLPOP", "q", "0").isEmpty)
        kv.use(admin)
        #expect(kv("CLIENT", "UNBLOCK", "\(waiter.id)") == int(0))
        kv("CLIENT", "UNPAUSE")
        #expect(kv.delivered().isEmpty, "now blocked on the list")
        #expect(kv("CLIENT", "UNBLOCK", "\(waiter.id)", "ERROR") == int(1))
        #expect(kv.delivered().map(\.text) == ["-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"])
    }

    @Test func aHeldClientThatGoesIsForgotten() {
        let kv = KVHarness()
        let admin = kv.session
        kv("CLIENT", "PAUSE", "100000", "WRITE")
        let gone = kv.openClient()
        kv.use(gone)
        kv("SET", "k", "1")
        kv.close(gone)
        kv.use(admin)
        #expect(kv("INFO", "clients").contains("blocked_clients:0"))
        kv("CLIENT", "UNPAUSE")
        #expect(kv.delivered().isEmpty)
        #expect(kv("EXISTS", "k") == int(0))
    }

    @Test func clientReplyAppliesWhenAHeldCommandRuns() {
        let kv = KVHarness()
        let admin = kv.session
        kv("CLIENT", "PAUSE", "100000", "WRITE")
        let client = kv.openClient()
        kv.use(client)
        #expect(kv("CLIENT", "REPLY", "SKIP").isEmpty)
        #expect(kv("SET", "k", "1").isEmpty)
        #expect(kv("GET", "k").isEmpty)
        kv.use(admin)
        kv("CLIENT", "UNPAUSE")
        #expect(kv.delivered().map(\.text) == [bulk("1")], "SET's reply skipped")
    }

    @Test func aPauseHoldsClientsOfEveryLoop() {
        let kv = KVHarness(loops: 2)
        let other = KVHarness(sharing: kv, loopIndex: 1)
        kv("CLIENT", "PAUSE", "100000", "WRITE")
        #expect(other("SET", "k", "1").isEmpty)
        kv("CLIENT", "UNPAUSE")
        other.tick()
        #expect(other.delivered().map(\.text) == [ok])
        #expect(kv("GET", "k") == bulk("1"))
    }
}
