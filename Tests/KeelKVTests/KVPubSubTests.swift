// Pub/sub through the store's registry: channel and pattern delivery with
// the receiver count, shard channels beside them, RESP2's subscriber
// context, RESP3 pushes, and a closed subscriber dropped from every channel.

import Testing

@testable import KeelKV

@Suite struct KVPubSubTests {
    @Test func publishReachesChannelAndPatternSubscribers() {
        let kv = KVHarness()
        let publisher = kv.session
        let listener = kv.openClient()
        kv.use(listener)
        #expect(kv("SUBSCRIBE", "news", "sport").hasPrefix("*3\r\n" + bulk("subscribe") + bulk("news") + int(1)))
        #expect(kv("PSUBSCRIBE", "n*") == "*3\r\n" + bulk("psubscribe") + bulk("n*") + int(3))
        kv.use(publisher)
        #expect(kv("PUBLISH", "news", "hi") == int(2))
        let sent = kv.delivered()
        #expect(sent.count == 2)
        #expect(sent.allSatisfy { $0.client == listener.client })
        #expect(sent[0].text == "*3\r\n" + bulk("message") + bulk("news") + bulk("hi"))
        #expect(sent[1].text == "*4\r\n" + bulk("pmessage") + bulk("n*") + bulk("news") + bulk("hi"))
        #expect(kv("PUBSUB", "NUMSUB", "news", "none") == "*4\r\n" + bulk("news") + int(1) + bulk("none") + int(0))
        #expect(kv("PUBSUB", "NUMPAT") == int(1))
        kv.close(listener)
        #expect(kv("PUBLISH", "news", "again") == int(0))
        #expect(kv("PUBSUB", "CHANNELS") == "*0\r\n")
    }

    @Test func subscribeRepliesOnePerChannelWithTheCount() {
        let kv = KVHarness()
        let reply = kv("SUBSCRIBE", "a", "b")
        #expect(
            reply == "*3\r\n" + bulk("subscribe") + bulk("a") + int(1) + "*3\r\n" + bulk("subscribe") + bulk("b")
                + int(2))
        #expect(kv("UNSUBSCRIBE").contains(bulk("unsubscribe")))
    }

    @Test func resp2SubscribersMayOnlySubscribePingQuitOrReset() {
        let kv = KVHarness()
        kv("SUBSCRIBE", "c")
        #expect(
            kv("GET", "k")
                == "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        )
        #expect(kv("PING") == "*2\r\n" + bulk("pong") + bulk(""))
        #expect(kv("RESET") == "+RESET\r\n")
        #expect(kv("GET", "k") == nullBulk)
    }

    @Test func resp3SubscribersGetPushesAndMayRunAnything() {
        let kv = KVHarness()
        let publisher = kv.session
        let listener = kv.openClient()
        kv.use(listener)
        kv("HELLO", "3")
        #expect(kv("SUBSCRIBE", "c") == ">3\r\n" + bulk("subscribe") + bulk("c") + int(1))
        #expect(kv("GET", "k") == "_\r\n")
        kv.use(publisher)
        kv("PUBLISH", "c", "m")
        #expect(kv.delivered().map(\.text) == [">3\r\n" + bulk("message") + bulk("c") + bulk("m")])
    }

    /// CLIENT REPLY OFF and SKIP silence replies, not pushes: subscribe
    /// confirmations and messages still come, as redis-server 7.0.15
    /// sends them (in RESP2 too).
    @Test func clientReplyDoesNotSilencePushes() {
        let kv = KVHarness()
        let publisher = kv.session
        let listener = kv.openClient()
        kv.use(listener)
        #expect(kv("CLIENT", "REPLY", "OFF").isEmpty)
        #expect(kv("PING").isEmpty)
        #expect(kv("SUBSCRIBE", "c") == "*3\r\n" + bulk("subscribe") + bulk("c") + int(1))
        kv.use(publisher)
        #expect(kv("PUBLISH", "c", "m") == int(1))
        #expect(kv.delivered().map(\.text) == ["*3\r\n" + bulk("message") + bulk("c") + bulk("m")])
        let other = kv.openClient()
        kv.use(other)
        kv("HELLO", "3")
        #expect(kv("CLIENT", "REPLY", "SKIP").isEmpty)
        #expect(kv("SSUBSCRIBE", "s") == ">3\r\n" + bulk("ssubscribe") + bulk("s") + int(1))
        #expect(kv("PING") == "+PONG\r\n", "the skip was taken by SSUBSCRIBE")
    }

    /// A message published on another loop reaches a subscriber through
    /// its own loop: at its tick, or before it confirms an UNSUBSCRIBE, so
    /// that nothing published before the confirmation arrives after it (a
    /// RESP2 client would read it as the reply to its next command).
    @Test func messagesFromAnotherLoopComeBeforeTheUnsubscribeConfirmation() {
        let publisher = KVHarness(loops: 2)
        let subscriber = KVHarness(sharing: publisher, loopIndex: 1)
        subscriber("SUBSCRIBE", "c")
        subscriber("PSUBSCRIBE", "c*")
        #expect(publisher("PUBLISH", "c", "1") == int(2))
        #expect(subscriber.delivered().isEmpty, "queued for the subscriber's loop")
        subscriber.tick()
        #expect(subscriber.delivered().count == 2)
        #expect(publisher("PUBLISH", "c", "2") == int(2))
        #expect(subscriber("UNSUBSCRIBE", "c") == "*3\r\n" + bulk("unsubscribe") + bulk("c") + int(1))
        #expect(
            subscriber.delivered().map(\.text) == [
                "*3\r\n" + bulk("message") + bulk("c") + bulk("2"),
                "*4\r\n" + bulk("pmessage") + bulk("c*") + bulk("c") + bulk("2"),
            ], "taken before the confirmation was written")
        #expect(publisher("PUBLISH", "c", "3") == int(1), "the pattern only")
        #expect(subscriber("RESET") == "+RESET\r\n")
        #expect(
            subscriber.delivered().map(\.text) == ["*4\r\n" + bulk("pmessage") + bulk("c*") + bulk("c") + bulk("3")])
        #expect(publisher("PUBLISH", "c", "4") == int(0))
        subscriber.tick()
        #expect(subscriber.delivered().isEmpty)
    }

    @Test func eachUnsubscribeConfirmationCountsWhatIsLeftThen() {
        let kv = KVHarness()
        kv("SUBSCRIBE", "a", "b")
        kv("PSUBSCRIBE", "p*")
        let confirmations = kv("UNSUBSCRIBE", "b", "a", "none")
        #expect(
            confirmations == "*3\r\n" + bulk("unsubscribe") + bulk("b") + int(2) + "*3\r\n" + bulk("unsubscribe")
                + bulk("a") + int(1) + "*3\r\n" + bulk("unsubscribe") + bulk("none") + int(1))
    }

    @Test func shardChannelsAreANamespaceOfTheirOwn() {
        let kv = KVHarness()
        let publisher = kv.session
        let listener = kv.openClient()
        kv.use(listener)
        #expect(
            kv("SSUBSCRIBE", "s1", "s2")
                == "*3\r\n" + bulk("ssubscribe") + bulk("s1") + int(1) + "*3\r\n" + bulk("ssubscribe") + bulk("s2")
                + int(2))
        // Channels and patterns count apart from shard channels.
        #expect(kv("SUBSCRIBE", "s1") == "*3\r\n" + bulk("subscribe") + bulk("s1") + int(1))
        #expect(kv("PSUBSCRIBE", "s*") == "*3\r\n" + bulk("psubscribe") + bulk("s*") + int(2))
        #expect(kv("GET", "k").hasPrefix("-ERR Can't execute 'get'"))
        kv.use(publisher)
        #expect(kv("SPUBLISH", "s1", "sharded") == int(1))
        #expect(kv.delivered().map(\.text) == ["*3\r\n" + bulk("smessage") + bulk("s1") + bulk("sharded")])
        // PUBLISH reaches the channel and the pattern, not the shard channel.
        #expect(kv("PUBLISH", "s1", "plain") == int(2))
        #expect(kv.delivered().map(\.text).allSatisfy { !$0.contains("smessage") })
        #expect(kv("PUBSUB", "SHARDNUMSUB", "s1", "none") == "*4\r\n" + bulk("s1") + int(1) + bulk("none") + int(0))
        #expect(kv("PUBSUB", "SHARDCHANNELS", "*2") == "*1\r\n" + bulk("s2"))
        kv.use(listener)
        kv("UNSUBSCRIBE")
        kv("PUNSUBSCRIBE")
        // Still a subscriber while a shard channel is left.
        #expect(kv("GET", "k").hasPrefix("-ERR Can't execute 'get'"))
        #expect(
            kv("SUNSUBSCRIBE", "s1", "none")
                == "*3\r\n" + bulk("sunsubscribe") + bulk("s1") + int(1) + "*3\r\n" + bulk("sunsubscribe")
                + bulk("none") + int(1))
        kv.close(listener)
        kv.use(publisher)
        #expect(kv("SPUBLISH", "s2", "gone") == int(0))
        #expect(kv("PUBSUB", "SHARDCHANNELS") == "*0\r\n")
        #expect(kv("SUNSUBSCRIBE") == "*3\r\n" + bulk("sunsubscribe") + "$-1\r\n" + int(0))
    }

    @Test func ssubscribeIsRefusedUnderExecAndSubscribeIsNot() {
        let kv = KVHarness()
        kv("MULTI")
        kv("SSUBSCRIBE", "q")
        kv("SUBSCRIBE", "c")
        #expect(
            kv("EXEC")
                == "*2\r\n-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n*3\r\n" + bulk("subscribe")
                + bulk("c") + int(1))
        kv("RESET")
        #expect(kv("PUBSUB", "SHARDNUMSUB", "q") == "*2\r\n" + bulk("q") + int(0))
    }
}
