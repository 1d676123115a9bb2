// CLIENT TRACKING: a key read is invalidated once when written (a RESP3
// push after the writer's reply, or a message to the client it redirects
// to), OPTIN/OPTOUT with CLIENT CACHING, NOLOOP, BCAST prefixes, flushes,
// expiry, the table's key limit, the option errors, and TRACKINGINFO.

import Testing

@testable import KeelKV

@Suite struct KVTrackingTests {
    private let invalidateA = ">2\r\n" + bulk("invalidate") + "*1\r\n" + bulk("a")

    @Test func aReadKeyIsInvalidatedOnceWhenWritten() {
        let kv = KVHarness()
        let reader = kv.session
        let writer = kv.openClient()
        kv("HELLO", "3")
        #expect(kv("CLIENT", "TRACKING", "ON") == "+OK\r\n")
        kv("GET", "a")
        kv.use(writer)
        #expect(kv("SET", "a", "1") == "+OK\r\n")
        #expect(kv.delivered().map(\.text) == [invalidateA])
        #expect(kv.delivered().isEmpty)
        kv("SET", "a", "2")
        #expect(kv.delivered().isEmpty, "told once, until it reads the key again")
        kv("SET", "b", "2")
        #expect(kv.delivered().isEmpty, "never read")
        kv.use(reader)
        #expect(kv.store.tracking.totals.keys == 0)
        #expect(
            kv("CLIENT", "TRACKINGINFO") == "%3\r\n" + bulk("flags") + "~1\r\n" + bulk("on") + bulk("redirect") + int(0)
                + bulk("prefixes") + "*0\r\n")
    }

    @Test func itsOwnWriteIsToldAfterTheReply() {
        let kv = KVHarness()
        kv("HELLO", "3")
        kv("CLIENT", "TRACKING", "ON")
        kv("GET", "a")
        #expect(kv("SET", "a", "1") == "+OK\r\n" + invalidateA)
        kv("GET", "a")
        kv("CLIENT", "TRACKING", "ON", "NOLOOP")
        #expect(kv("SET", "a", "2") == "+OK\r\n", "NOLOOP: not of its own writes")
    }

    @Test func aRESP2ClientHearsThroughItsRedirect() {
        let kv = KVHarness()
        let reader = kv.session
        let listener = kv.openClient()
        kv.use(listener)
        let id = kv("CLIENT", "ID").dropFirst().dropLast()  // "\r\n" is one Character
        kv("SUBSCRIBE", "__redis__:invalidate")
        kv.use(reader)
        #expect(kv("CLIENT", "TRACKING", "ON", "REDIRECT", String(id)) == "+OK\r\n")
        #expect(kv("CLIENT", "GETREDIR") == int(Int(id)!))
        kv("MGET", "a", "b")
        kv("SET", "b", "1")
        let sent = kv.delivered()
        #expect(sent.map(\.client) == [listener.client])
        #expect(sent.map(\.text) == ["*3\r\n" + bulk("message") + bulk("__redis__:invalidate") + "*1\r\n" + bulk("b")])
        kv.close(listener)
        kv("HELLO", "3")
        #expect(kv("SET", "a", "x") == "+OK\r\n>2\r\n" + bulk("tracking-redir-broken") + int(Int(id)!))
        #expect(kv("CLIENT", "TRACKINGINFO").contains(bulk("broken_redirect")))
        #expect(
            kv("CLIENT", "TRACKING", "ON", "REDIRECT", "999999")
                == "-ERR The client ID you want redirect to does not exist\r\n")
    }

    @Test func optInAndOptOutFollowClientCaching() {
        let kv = KVHarness()
        kv("HELLO", "3")
        kv("CLIENT", "TRACKING", "ON", "OPTIN")
        kv("GET", "a")
        #expect(kv("SET", "a", "1") == "+OK\r\n", "OPTIN without CACHING YES tracks nothing")
        kv("CLIENT", "CACHING", "YES")
        kv("GET", "a")
        #expect(kv("SET", "a", "2") == "+OK\r\n" + invalidateA)
        #expect(
            kv("CLIENT", "CACHING", "NO")
                == "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n")
        kv("CLIENT", "TRACKING", "OFF")
        kv("CLIENT", "TRACKING", "ON", "OPTOUT")
        kv("CLIENT", "CACHING", "NO")
        kv("GET", "a")
        #expect(kv("SET", "a", "3") == "+OK\r\n", "OPTOUT with CACHING NO skips that read")
        kv("GET", "a")
        #expect(kv("SET", "a", "4") == "+OK\r\n" + invalidateA)
    }

    @Test func broadcastSendsWritesUnderThePrefixes() {
        let kv = KVHarness()
        let listener = kv.session
        let writer = kv.openClient()
        kv("HELLO", "3")
        #expect(kv("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "job:") == "+OK\r\n")
        kv.use(writer)
        kv("MSET", "user:2", "x", "user:1", "y", "other", "z")
        #expect(
            kv.delivered().map(\.text) == [">2\r\n" + bulk("invalidate") + "*2\r\n" + bulk("user:1") + bulk("user:2")])
        kv.use(listener)
        #expect(
            kv("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "us")
                == "-ERR Prefix 'us' overlaps with an existing prefix 'user:'. Prefixes for a single client must not overlap.\r\n"
        )
        #expect(
            kv("CLIENT", "TRACKING", "ON")
                == "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.\r\n"
        )
        #expect(kv("CLIENT", "TRACKINGINFO").contains("*2\r\n" + bulk("job:") + bulk("user:")))
        #expect(kv.store.tracking.totals.prefixes == 2)
        kv.close(listener)
        #expect(kv.store.tracking.totals.prefixes == 0)
        #expect(kv.store.tracking.clientCount.load(ordering: .relaxed) == 0)
    }

    @Test func aFlushInvalidatesEverything() {
        let kv = KVHarness()
        let reader = kv.session
        kv("HELLO", "3")
        kv("CLIENT", "TRACKING", "ON")
        kv("GET", "a")
        kv.use(kv.openClient())
        kv("FLUSHALL")
        #expect(kv.delivered().map(\.text) == [">2\r\n" + bulk("invalidate") + "_\r\n"])
        kv.use(reader)
        #expect(kv.store.tracking.totals.keys == 0)
    }

    @Test func expiryInvalidates() {
        let kv = KVHarness()
        kv("SET", "a", "1", "PX", "10")
        kv("HELLO", "3")
        kv("CLIENT", "TRACKING", "ON")
        kv("GET", "a")
        kv.clock.advance(by: 50)
        kv.use(kv.openClient())
        #expect(kv("GET", "a") == nullBulk)
        kv.tick()
        #expect(kv.delivered().map(\.text) == [invalidateA])
    }

    @Test func theTableKeepsToItsKeyLimit() {
        let kv = KVHarness()
        kv("HELLO", "3")
        kv("CLIENT", "TRACKING", "ON")
        kv("CONFIG", "SET", "tracking-table-max-keys", "2")
        let reply = kv("MGET", "a", "b", "c")
        #expect(reply.hasPrefix("*3\r\n"), "the reply first")
        #expect(reply.components(separatedBy: bulk("invalidate")).count == 2, "one key forgotten and told: \(reply)")
        #expect(kv.store.tracking.totals.keys == 2)
        #expect(kv("INFO", "stats").contains("tracking_total_keys:2\r\n"))
        #expect(kv("INFO", "clients").contains("tracking_clients:1\r\n"))
    }

    @Test func optionsAreCheckedAsRedisServerChecksThem() {
        let kv = KVHarness()
        #expect(
            kv("CLIENT", "TRACKING", "ON", "PREFIX", "a") == "-ERR PREFIX option requires BCAST mode to be enabled\r\n")
        #expect(
            kv("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN")
                == "-ERR OPTIN and OPTOUT are not compatible with BCAST\r\n")
        #expect(
            kv("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT")
                == "-ERR You can't specify both OPTIN mode and OPTOUT mode\r\n")
        #expect(kv("CLIENT", "TRACKING", "MAYBE") == "-ERR syntax error\r\n")
        #expect(
            kv("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "a")
                == "-ERR Prefix 'ab' overlaps with another provided prefix 'a'. Prefixes for a single client must not overlap.\r\n"
        )
        #expect(
            kv("CLIENT", "CACHING", "YES")
                == "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n"
        )
        #expect(kv("CLIENT", "GETREDIR") == int(-1))
        kv("CLIENT", "TRACKING", "ON", "OPTIN")
        #expect(
            kv("CLIENT", "TRACKING", "ON", "OPTOUT")
                == "-ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.\r\n"
        )
        #expect(kv("CLIENT", "LIST").contains("flags=t "))
        #expect(kv("RESET") == "+RESET\r\n")
        #expect(kv("CLIENT", "GETREDIR") == int(-1), "RESET turns tracking off")
        #expect(kv.store.tracking.clientCount.load(ordering: .relaxed) == 0)
    }
}
