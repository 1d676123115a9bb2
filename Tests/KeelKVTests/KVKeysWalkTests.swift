// KEYS over a large keyspace is walked a slice per loop iteration
// (KVKeysWalk): the reply comes after ticks, whole and without repeats,
// with every key present for the whole walk, also while the table grows,
// shrinks or is flushed; what its client sends meanwhile runs after it, in
// order; a client gone mid-walk is forgotten; inside EXEC it runs at once.

import KeelWire
import Testing

@testable import KeelKV

@Suite struct KVKeysWalkTests {
    /// Sets `count` keys named `prefix0`, `prefix1`, ... (MSET, 500 at a time).
    func fill(_ kv: KVHarness, _ prefix: String, _ range: Range<Int>) {
        var start = range.lowerBound
        while start < range.upperBound {
            let end = min(start + 500, range.upperBound)
            var words = ["MSET"]
            for index in start..<end { words += ["\(prefix)\(index)", "v"] }
            #expect(kv.run(words.map { Array($0.utf8) }) == Array(ok.utf8))
            start = end
        }
    }

    /// Ticks until no client walks (at most `limit` ticks); returns what
    /// each client was sent, in order, and how many ticks it took.
    func tickUntilWalked(_ kv: KVHarness, limit: Int = 10_000) -> (
        sent: [(client: KVClientRef, text: String)], ticks: Int
    ) {
        var ticks = 0
        var sent: [(client: KVClientRef, text: String)] = []
        while ticks < limit && !kv.loop.walks.isEmpty {
            kv.tick()
            ticks += 1
            for piece in kv.delivered() {
                if let last = sent.last, last.client == piece.client {
                    sent[sent.count - 1].text += piece.text
                } else {
                    sent.append(piece)
                }
            }
        }
        return (sent, ticks)
    }

    /// The keys of the RESP2 array of bulk strings `reply` begins with, in order.
    func keys(_ reply: String) -> [String] {
        let lines = reply.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let header = lines.first, header.hasPrefix("*"), let count = Int(header.dropFirst()) else { return [] }
        return (0..<count).map { String(lines[2 + 2 * $0]) }
    }

    @Test func aLargeKeyspaceIsWalkedOverTicksAndHeldCommandsFollow() {
        let kv = KVHarness()
        fill(kv, "k", 0..<40_000)
        #expect(kv("KEYS", "*").isEmpty, "the reply waits for the walk")
        #expect(kv("PING").isEmpty, "what the client sends meanwhile waits its turn")
        #expect(kv("GET", "k7").isEmpty)
        let (sent, ticks) = tickUntilWalked(kv)
        #expect(ticks > 2, "the walk took \(ticks) ticks: slices are bounded")
        #expect(sent.count == 1 && sent.first?.client == kv.session.client)
        let text = sent.first?.text ?? ""
        #expect(text.hasPrefix("*40000\r\n"))
        let found = keys(text)
        #expect(Set(found) == Set((0..<40_000).map { "k\($0)" }) && found.count == 40_000)
        #expect(text.hasSuffix("+PONG\r\n$1\r\nv\r\n"), "held commands answer after the keys, in order")
        #expect(kv("PING") == "+PONG\r\n", "the client is served at once again")
        #expect(kv.auditStore() == nil)
    }

    @Test func aPatternAndExpiredKeysAreHonouredAsAtOnce() {
        let kv = KVHarness()
        fill(kv, "k", 0..<20_000)
        fill(kv, "other", 0..<5_000)
        kv("SET", "k-short", "v", "PX", "10")
        kv.clock.advance(by: 20)
        kv("HELLO", "3")
        #expect(kv("KEYS", "k1?").isEmpty)
        let (sent, _) = tickUntilWalked(kv)
        let text = sent.first?.text ?? ""
        #expect(text.hasPrefix("*10\r\n"), "RESP3 arrays are RESP2's: \(text.prefix(20))")
        #expect(Set(keys(text)) == Set((10..<20).map { "k\($0)" }))
        #expect(kv("KEYS", "k-*").isEmpty)
        #expect(tickUntilWalked(kv).sent.first?.text == "*0\r\n", "an expired key is not listed")
    }

    @Test(arguments: ["grow", "shrink", "flush", "flush async", "flush and refill"])
    func keysPresentThroughoutAreListedOnceWhileTheTableChanges(change: String) {
        let kv = KVHarness()
        let walker = kv.session
        let writer = kv.openClient()
        fill(kv, "stay", 0..<2_000)
        fill(kv, "go", 0..<38_000)
        #expect(kv("KEYS", "*").isEmpty)
        for _ in 0..<3 { kv.tick() }
        #expect(kv.delivered().isEmpty, "a tick walks a slice, not all")
        kv.use(writer)
        switch change {
        case "grow": fill(kv, "new", 0..<60_000)
        case "shrink":
            // Below an eighth of the buckets used: the table shrinks.
            for index in stride(from: 0, to: 38_000, by: 500) {
                kv.run([Array("DEL".utf8)] + (index..<index + 500).map { Array("go\($0)".utf8) })
            }
        case "flush": kv("FLUSHALL", "SYNC")
        case "flush async": kv("FLUSHALL", "ASYNC")
        default:
            // The same keys again after a flush, in a table of the same size.
            kv("FLUSHALL", "SYNC")
            fill(kv, "stay", 0..<2_000)
            fill(kv, "go", 0..<38_000)
        }
        let (sent, _) = tickUntilWalked(kv)
        #expect(sent.count == 1 && sent.first?.client == walker.client)
        let found = keys(sent.first?.text ?? "")
        #expect(Set(found).count == found.count, "no key is listed twice")
        if change == "grow" || change == "shrink" {
            #expect(
                Set(found).isSuperset(of: (0..<2_000).map { "stay\($0)" }), "every key present throughout is listed")
        }
        kv.use(walker)
        #expect(kv("PING") == "+PONG\r\n")
        #expect(kv.auditStore() == nil)
    }

    @Test func walksAreServedInTurnAndAClientGoneIsForgotten() {
        let kv = KVHarness(loops: 2)
        fill(kv, "k", 0..<30_000)
        let first = kv.session
        let gone = kv.openClient()
        let last = kv.openClient()
        #expect(kv("KEYS", "k1*").isEmpty)
        kv.use(gone)
        #expect(kv("KEYS", "*").isEmpty)
        kv.use(last)
        #expect(kv("KEYS", "k2999?").isEmpty)
        kv.close(gone)
        let (sent, _) = tickUntilWalked(kv)
        #expect(sent.count == 2, "one reply each, whole, one after the other; none for the closed client")
        #expect(sent.first?.client == first.client && sent.last?.client == last.client)
        #expect(keys(sent.first?.text ?? "").count == 11_111)
        #expect(Set(keys(sent.last?.text ?? "")) == Set((29_990..<30_000).map { "k\($0)" }))
    }

    @Test func aSubscriberGetsKeysAtOnceSoNoPushLandsInside() {
        let kv = KVHarness()
        fill(kv, "k", 0..<20_000)
        kv("HELLO", "3")
        kv("SUBSCRIBE", "news")
        let reply = kv("KEYS", "k1999?")
        #expect(reply.hasPrefix("*10\r\n"), "\(reply.prefix(40))")
    }

    @Test func insideATransactionKeysRunsAtOnce() {
        let kv = KVHarness()
        fill(kv, "k", 0..<20_000)
        kv("MULTI")
        #expect(kv("KEYS", "k1999?") == "+QUEUED\r\n")
        let reply = kv("EXEC")
        #expect(reply.hasPrefix("*1\r\n*10\r\n"), "\(reply.prefix(40))")
    }
}

extension KVKeysWalkTests {
    /// The cursor can meet a key twice when the table shrinks between two
    /// slices (the partly walked group of buckets folds into one): whatever
    /// slice the shrink falls after, the reply lists each key once.
    @Test func aShrinkBetweenSlicesListsNoKeyTwice() {
        var repeated = 0
        for slicesBefore in 1...40 {
            // 5,000 keys in 8,192 buckets; deleting all but 900 shrinks the
            // table to 1,024 (groups of 8 buckets fold into one).
            let kv = KVHarness()
            fill(kv, "stay", 0..<900)
            fill(kv, "go", 0..<4_100)
            let walk = Array("*".utf8).withUnsafeBytes { KVKeysWalk(pattern: $0, nowMs: kv.store.clock.nowMs) }
            let buffer = RESPReplyBuffer()
            // 65 buckets a round: the shrink falls at every place in a group.
            for _ in 0..<slicesBefore * 13 { _ = walk.step(kv.store, work: 5, write: buffer.append) }
            let bucketsBefore = kv.store.shards[0].bucketCount
            for index in stride(from: 0, to: 4_100, by: 100) {
                kv.run([Array("DEL".utf8)] + (index..<index + 100).map { Array("go\($0)".utf8) })
            }
            var guardSteps = 0
            while kv.store.shards[0].rehash(buckets: 1_024) && guardSteps < 1_000 { guardSteps += 1 }
            #expect(kv.store.shards[0].bucketCount < bucketsBefore / 4, "the table shrank")
            var steps = 0
            while !walk.step(kv.store, work: 64, write: buffer.append) && steps < 100_000 { steps += 1 }
            let found = keys(String(decoding: buffer.bytes, as: UTF8.self))
            #expect(Set(found).count == found.count, "no key twice after \(slicesBefore) rounds")
            #expect(Set(found).isSuperset(of: (0..<900).map { "stay\($0)" }))
            repeated += walk.repeatsDropped
        }
        // About 15 expected over the 40 walks, whatever the hash seed.
        #expect(repeated > 0, "some walk met a key twice: the deduplication is exercised")
    }
}
