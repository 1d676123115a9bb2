// Blocking commands: served at once when there is something to take,
// otherwise held until a push (first blocked, first served), a timeout (the
// null reply at the tick after the deadline) or a disconnect; what a held
// client sends meanwhile runs after it, in order; inside EXEC they never block.

import Testing

@testable import KeelKV

@Suite struct KVBlockingTests {
    /// A new client of `kv`, blocked by `command` (and left current).
    static func blocked(_ kv: KVHarness, _ command: String...) -> KVSession {
        let client = kv.openClient()
        kv.use(client)
        #expect(kv.run(command.map { Array($0.utf8) }).isEmpty, "\(command) blocks")
        return client
    }

    @Test func aBlockingPopWithSomethingToTakeAnswersAtOnce() {
        let kv = KVHarness()
        kv("RPUSH", "l", "a", "b")
        #expect(kv("BLPOP", "missing", "l", "0") == bulks("l", "a"))
        #expect(kv("BRPOP", "l", "0") == bulks("l", "b"))
        #expect(kv("EXISTS", "l") == int(0))
        kv("ZADD", "z", "1", "m", "2", "n")
        #expect(kv("BZPOPMAX", "z", "0") == "*3\r\n" + bulk("z") + bulk("n") + bulk("2"))
        #expect(kv("SET", "s", "x") == ok)
        #expect(kv("BLPOP", "s", "0") == "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
    }

    /// A killed client is gone at once, as in redis-server, though its
    /// connection closes later: a push right after the kill stays in the
    /// list (it was handed to the dead connection and lost), a publish does
    /// not count it, CLIENT LIST does not show it; its connection is closed
    /// with its replies dropped.
    @Test func aKilledClientTakesNothingAndIsListedNowhere() {
        let kv = KVHarness()
        let killer = kv.session
        let victim = Self.blocked(kv, "BLPOP", "kq", "0")
        let subscriber = kv.openClient()
        kv.use(subscriber)
        kv("SUBSCRIBE", "news")
        kv.use(killer)
        _ = kv.delivered()
        #expect(kv("CLIENT", "KILL", "ID", "\(victim.id)") == int(1))
        #expect(kv("CLIENT", "KILL", "ID", "\(subscriber.id)") == int(1))
        #expect(kv("RPUSH", "kq", "precious") == int(1))
        #expect(kv("LLEN", "kq") == int(1))
        #expect(kv("PUBLISH", "news", "hello") == int(0))
        #expect(kv.delivered().isEmpty)
        #expect(!kv("CLIENT", "LIST").contains("id=\(victim.id) "))
        #expect(kv("CLIENT", "KILL", "ID", "\(victim.id)") == int(0))
        #expect(kv.loop.closedWithoutLoop == [victim.client, subscriber.client])
        kv.close(victim)
        kv.close(subscriber)
        #expect(kv("INFO", "clients").contains("blocked_clients:0"))
    }

    @Test func blockedClientsAreServedInTheOrderTheyBlocked() {
        let kv = KVHarness()
        let pusher = kv.session
        let first = kv.openClient()
        let second = kv.openClient()
        kv.use(first)
        #expect(kv("BLPOP", "q", "0").isEmpty)
        kv.use(second)
        #expect(kv("BRPOP", "q", "other", "0").isEmpty)
        kv.use(pusher)
        #expect(kv("INFO", "clients").contains("blocked_clients:2"))
        #expect(kv("RPUSH", "q", "one") == int(1))
        var sent = kv.delivered()
        #expect(sent.count == 1)
        #expect(sent.first?.client == first.client)
        #expect(sent.first?.text == bulks("q", "one"))
        #expect(kv("LPUSH", "q", "two", "three") == int(2))
        sent = kv.delivered()
        #expect(sent.map(\.client) == [second.client])
        #expect(sent.first?.text == bulks("q", "two"))
        #expect(kv("LRANGE", "q", "0", "-1") == bulks("three"))
        #expect(kv("INFO", "clients").contains("blocked_clients:0"))
    }

    @Test func clientUnblockEndsABlockAsATimeoutOrWithAnError() {
        let kv = KVHarness()
        let admin = kv.session
        let waiter = Self.blocked(kv, "BLPOP", "q", "0")
        #expect(kv("PING").isEmpty, "held behind the block")
        kv.use(admin)
        #expect(kv("CLIENT", "UNBLOCK", "\(waiter.id)") == int(1))
        var sent = kv.delivered()
        #expect(sent.map(\.client) == [waiter.client, waiter.client])
        #expect(sent.map(\.text) == ["*-1\r\n", "+PONG\r\n"])
        #expect(kv("CLIENT", "UNBLOCK", "\(waiter.id)") == int(0), "no longer blocked")
        kv.use(waiter)
        #expect(kv("BZPOPMIN", "z", "0").isEmpty)
        kv.use(admin)
        #expect(kv("CLIENT", "UNBLOCK", "\(waiter.id)", "ERROR") == int(1))
        sent = kv.delivered()
        #expect(sent.first?.text == "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")
        #expect(
            kv("CLIENT", "UNBLOCK", "\(waiter.id)", "LATER")
                == "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n")
        #expect(kv("INFO", "clients").contains("blocked_clients:0"))
    }

    @Test func whatAHeldClientSendsRunsAfterItInOrder() {
        let kv = KVHarness()
        let pusher = kv.session
        let waiter = kv.openClient()
        kv.use(waiter)
        #expect(kv("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0").isEmpty)
        #expect(kv("INCR", "n").isEmpty)
        #expect(kv("LLEN", "dst").isEmpty)
        kv.use(pusher)
        kv("RPUSH", "src", "x")
        let sent = kv.delivered()
        #expect(sent.map(\.text).joined() == bulk("x") + int(1) + int(1))
        #expect(kv("GET", "n") == bulk("1"))
    }

    @Test func aTimeoutAnswersTheNullReply() {
        let kv = KVHarness()
        let waiter = kv.openClient()
        kv.use(waiter)
        #expect(kv("BLPOP", "q", "0.5").isEmpty)
        #expect(kv("BLMOVE", "a", "b", "LEFT", "LEFT", "1").isEmpty)  // held behind the first
        kv.clock.advance(by: 400)
        kv.tick()
        #expect(kv.delivered().isEmpty)
        kv.clock.advance(by: 200)
        kv.tick()
        #expect(kv.delivered().map(\.text) == ["*-1\r\n"])
        kv.clock.advance(by: 1_100)
        kv.tick()
        #expect(kv.delivered().map(\.text) == ["*-1\r\n"])
        // RESP3: the null.
        kv("HELLO", "3")
        kv("BZPOPMIN", "z", "0.01")
        kv.clock.advance(by: 20)
        kv.tick()
        #expect(kv.delivered().map(\.text) == ["_\r\n"])
    }

    @Test func timeoutsAreParsedAsRedisDoes() {
        let kv = KVHarness()
        #expect(kv("BLPOP", "q", "abc") == "-ERR timeout is not a float or out of range\r\n")
        #expect(kv("BLPOP", "q", "-1") == "-ERR timeout is negative\r\n")
        // Past Int64 milliseconds redis-server wraps to a negative timeout.
        #expect(kv("BLPOP", "q", "1e300") == "-ERR timeout is negative\r\n")
        #expect(kv("BLPOP", "q", "9223372036854775") == "-ERR timeout is out of range\r\n")
        #expect(kv("BLMPOP", "0", "0", "q", "LEFT") == "-ERR numkeys should be greater than 0\r\n")
    }

    @Test func aDisconnectedWaiterIsForgottenAtOnce() {
        let kv = KVHarness()
        let pusher = kv.session
        let gone = kv.openClient()
        let stays = kv.openClient()
        kv.use(gone)
        kv("BLPOP", "q", "0")
        kv.use(stays)
        kv("BLPOP", "q", "0")
        kv.close(gone)
        #expect(kv.store.blocking.blockedCount.load(ordering: .relaxed) == 1)
        kv.use(pusher)
        kv("RPUSH", "q", "v")
        #expect(kv.delivered().map(\.client) == [stays.client])
    }

    @Test func insideExecABlockingCommandDoesNotBlock() {
        let kv = KVHarness()
        kv("MULTI")
        kv("BLPOP", "q", "0")
        kv("BZMPOP", "0", "1", "z", "MIN")
        #expect(kv("EXEC") == "*2\r\n*-1\r\n*-1\r\n")
    }

    @Test func aWaiterOnAKeyOfAnotherTypeWaitsOn() {
        let kv = KVHarness()
        let writer = kv.session
        let waiter = kv.openClient()
        kv.use(waiter)
        kv("BLMPOP", "0", "2", "k", "l", "RIGHT", "COUNT", "5")
        kv.use(writer)
        kv("SET", "k", "string")
        #expect(kv.delivered().isEmpty)
        kv("RPUSH", "l", "1", "2")
        #expect(kv.delivered().map(\.text) == ["*2\r\n" + bulk("l") + bulks("2", "1")])
    }

    /// CLIENT REPLY holds for a blocked command's reply as redis-server
    /// keeps it: a skip in force when it blocked drops the reply that comes
    /// later, and a skip sent while it waits applies to what follows it.
    @Test func clientReplyAppliesToABlockedCommandsLaterReply() {
        let kv = KVHarness()
        let pusher = kv.session
        let waiter = kv.openClient()
        kv.use(waiter)
        #expect(kv("CLIENT", "REPLY", "SKIP") == "")
        #expect(kv("BLPOP", "q", "0") == "")
        #expect(kv("PING").isEmpty, "held behind the block")
        kv.use(pusher)
        kv("RPUSH", "q", "x")
        #expect(kv.delivered().map(\.text) == ["+PONG\r\n"], "BLPOP's reply skipped, PING's sent")
        kv.use(waiter)
        #expect(kv("BLPOP", "q", "0") == "")
        for command in [["CLIENT", "REPLY", "SKIP"], ["PING", "1"], ["PING", "2"]] {
            #expect(kv.run(command.map { Array($0.utf8) }).isEmpty, "held")
        }
        kv.use(pusher)
        kv("RPUSH", "q", "y")
        #expect(kv.delivered().map(\.text) == [bulks("q", "y"), bulk("2")], "the skip took PING 1's reply")
        kv.use(waiter)
        #expect(kv("PING", "3") == bulk("3"), "and replies are back on")
    }
}
