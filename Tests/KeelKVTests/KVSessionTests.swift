// What a connection's session decides: transactions and WATCH, AUTH with
// a password, HELLO's protocol choice and RESP3's reply shapes, RESET.

import Testing

@testable import KeelKV

@Suite struct KVSessionTests {
    @Test func aTransactionQueuesThenRunsAtomically() {
        let kv = KVHarness()
        #expect(kv("MULTI") == ok)
        #expect(kv("SET", "a", "1") == "+QUEUED\r\n")
        #expect(kv("INCR", "a") == "+QUEUED\r\n")
        #expect(kv("EXEC") == "*2\r\n+OK\r\n:2\r\n")
        #expect(kv("EXEC") == "-ERR EXEC without MULTI\r\n")
    }

    @Test func anErrorWhileQueuingAbortsTheTransaction() {
        let kv = KVHarness()
        kv("MULTI")
        kv("SET", "a", "1")
        #expect(kv("NOSUCH").hasPrefix("-ERR unknown command 'NOSUCH'"))
        #expect(kv("EXEC") == "-EXECABORT Transaction discarded because of previous errors.\r\n")
        #expect(kv("EXISTS", "a") == int(0))
    }

    @Test func aWatchedKeyWrittenByAnotherClientFailsExec() {
        let kv = KVHarness()
        let first = kv.session
        kv("SET", "k", "1")
        #expect(kv("WATCH", "k") == ok)
        let other = kv.openClient()
        kv.use(other)
        kv("SET", "k", "2")
        kv.use(first)
        kv("MULTI")
        kv("SET", "k", "3")
        #expect(kv("EXEC") == "*-1\r\n")
        #expect(kv("GET", "k") == bulk("2"))
        // The watch ended with EXEC: the next transaction runs.
        kv("MULTI")
        kv("SET", "k", "4")
        #expect(kv("EXEC") == "*1\r\n+OK\r\n")
    }

    @Test func expiryOfAWatchedKeyFailsExec() {
        let kv = KVHarness()
        kv("SET", "k", "1", "PX", "10")
        kv("WATCH", "k")
        kv.clock.advance(by: 20)
        #expect(kv("GET", "k") == nullBulk)
        kv("MULTI")
        kv("SET", "x", "1")
        #expect(kv("EXEC") == "*-1\r\n")
    }

    @Test func aPasswordGuardsEveryCommandButAuthHelloAndQuit() {
        let kv = KVHarness(settings: KVSettings(requirePass: "s3cret"))
        #expect(kv("GET", "k") == "-NOAUTH Authentication required.\r\n")
        #expect(kv("AUTH", "wrong") == "-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        #expect(kv.store.counters.authFailures.load(ordering: .relaxed) == 1)
        #expect(kv("AUTH", "s3cret") == ok)
        #expect(kv("GET", "k") == nullBulk)
        let other = kv.openClient()
        kv.use(other)
        #expect(kv("HELLO", "3", "AUTH", "default", "s3cret").hasPrefix("%7\r\n"))
        #expect(kv("PING") == "+PONG\r\n")
    }

    @Test func withoutAPasswordAuthSaysSo() {
        let kv = KVHarness()
        #expect(
            kv("AUTH", "x")
                == "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
        )
    }

    @Test func helloThreeSwitchesTheReplyShapes() {
        let kv = KVHarness()
        let hello = kv("HELLO", "3")
        #expect(hello.hasPrefix("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"))
        kv("HSET", "h", "f", "v")
        #expect(kv("HGETALL", "h") == "%1\r\n$1\r\nf\r\n$1\r\nv\r\n")
        #expect(kv("GET", "missing") == "_\r\n")
        kv("SADD", "s", "a")
        #expect(kv("SMEMBERS", "s") == "~1\r\n$1\r\na\r\n")
        kv("ZADD", "z", "1.5", "m")
        #expect(kv("ZSCORE", "z", "m") == ",1.5\r\n")
        #expect(kv("ZRANGE", "z", "0", "-1", "WITHSCORES") == "*1\r\n*2\r\n$1\r\nm\r\n,1.5\r\n")
        #expect(kv("HELLO", "2").hasPrefix("*14\r\n"))
        #expect(kv("HGETALL", "h") == bulks("f", "v"))
        #expect(kv("HELLO", "4") == "-NOPROTO unsupported protocol version\r\n")
    }

    @Test func resetForgetsTheSessionsState() {
        let kv = KVHarness()
        kv("HELLO", "3")
        kv("CLIENT", "SETNAME", "worker")
        kv("MULTI")
        #expect(kv("RESET") == "+RESET\r\n")
        #expect(kv("CLIENT", "GETNAME") == nullBulk)
        #expect(kv("EXEC") == "-ERR EXEC without MULTI\r\n")
        #expect(kv.session.protocolVersion == 2)
    }
}
