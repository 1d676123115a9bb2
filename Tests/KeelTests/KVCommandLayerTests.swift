// keel-kv's commands over a real socket, replies byte for byte, and
// atomicity when several loops share the store. Real clients and
// redis-server itself are in Tests/clients/run.sh.

import Glibc
import KeelTestSupport
import Testing

@testable import Keel
@testable import KeelKV

/// A RESP client's view of keel-kv: one request, one exact reply.
@Suite(.serialized) struct KVCommandLayerTests {
    func withKV(
        threads: Int = 1, format: RESPFormat = .keelKV(maxValueBytes: 1 << 20), settings: KVSettings = KVSettings(),
        _ body: (Int) throws -> Void
    ) throws {
        var configuration = testConfiguration()
        configuration.threads = threads
        let store = KVStore(loops: threads, settings: settings)
        let makeHandler: @Sendable (UInt32) -> KVHandler = { _ in KVHandler(store: store) }
        try withServer(configuration, format: format, makeHandler: makeHandler) { _, port in
            try body(port)
        }
    }

    func exchange(_ client: TestClient, _ request: String, _ reply: String) throws {
        try client.send(bytes(request))
        #expect(try client.read(exactly: reply.utf8.count) == bytes(reply), "\(request)")
    }

    @Test func commandsAnswerAsRedisDoes() throws {
        try withKV { port in
            let client = try TestClient(port: port)
            try exchange(client, "SET k v\r\n", "+OK\r\n")
            try exchange(client, "GET k\r\nGET nope\r\n", "$1\r\nv\r\n$-1\r\n")
            try exchange(client, "INCR k\r\n", "-ERR value is not an integer or out of range\r\n")
            try exchange(
                client, "LPUSH k x\r\n", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
            try exchange(client, "RPUSH l a b c\r\nLRANGE l 1 -1\r\n", ":3\r\n*2\r\n$1\r\nb\r\n$1\r\nc\r\n")
            try exchange(client, "HSET h f 1\r\nHGETALL h\r\n", ":1\r\n*2\r\n$1\r\nf\r\n$1\r\n1\r\n")
            try exchange(client, "SET t v PX 1\r\n", "+OK\r\n")
            usleep(20_000)
            try exchange(client, "GET t\r\nTTL t\r\n", "$-1\r\n:-2\r\n")
            try exchange(client, "GET\r\n", "-ERR wrong number of arguments for 'get' command\r\n")
            try exchange(
                client, "NOPE a\r\n", "-ERR unknown command 'NOPE', with args beginning with: 'a' \r\n")
            try exchange(client, "DBSIZE\r\nQUIT\r\n", ":3\r\n+OK\r\n")
            #expect(client.waitForClose(), "QUIT closes the connection")
        }
    }

    /// Two loops share one store: increments from many clients on both
    /// loops, and lists grown from both, lose nothing (each command is atomic).
    @Test func commandsAreAtomicAcrossLoops() throws {
        try withKV(threads: 2) { port in
            let clients = try (0..<8).map { _ in try TestClient(port: port) }
            let increments = Array(repeating: "INCR counter\r\nRPUSH list x\r\n", count: 500).joined()
            let writers = clients.map { WriterThread(fd: $0.fd, bytes: bytes(increments)) }
            for client in clients {
                var replies = 0
                var buffer: [UInt8] = []
                while replies < 1_000 {
                    buffer += try client.read(exactly: 1)
                    if buffer.suffix(2) == [13, 10] {
                        replies += 1
                        buffer.removeAll(keepingCapacity: true)
                    }
                }
            }
            for writer in writers { _ = writer.join() }
            let check = try TestClient(port: port)
            try exchange(check, "GET counter\r\nLLEN list\r\n", "$4\r\n4000\r\n:4000\r\n")
        }
    }

    /// A reply of 17 MB (more than the 16 MiB pending-output cap, which
    /// bounds only output a client did not ask for) reaches a client that
    /// reads it, whole, as redis-server serves it.
    @Test func aReplyOfTensOfMegabytesIsServedWhole() throws {
        try withKV { port in
            let client = try TestClient(port: port, timeoutSeconds: 60)
            let element = [UInt8](repeating: 0x78, count: 100)
            for batch in 1...170 {
                try client.send(multibulk([bytes("RPUSH"), bytes("big")] + Array(repeating: element, count: 1_000)))
                #expect(try client.read(exactly: ":\(batch * 1_000)\r\n".utf8.count) == bytes(":\(batch * 1_000)\r\n"))
            }
            try client.send(bytes("LRANGE big 0 -1\r\n"))
            let item = bytes("$100\r\n") + element + bytes("\r\n")
            #expect(try client.read(exactly: 9) == bytes("*170000\r\n"))
            var whole = true
            for _ in 0..<170_000 where whole { whole = try client.read(exactly: item.count) == item }
            #expect(whole, "every element arrived")
            try exchange(client, "PING\r\n", "+PONG\r\n")
        }
    }

    /// Values up to the bulk limit are stored: the request around them may
    /// take more (it used to be capped at the value limit itself, so a value
    /// at the limit could never be stored). One over the limit gets the
    /// protocol's error reply and a graceful close, never a bare reset.
    @Test func aValueAtTheLimitIsStoredAndOneOverItIsRefusedWithAReply() throws {
        try withKV(format: .keelKV(maxValueBytes: 1 << 20)) { port in
            let client = try TestClient(port: port)
            let value = [UInt8](repeating: 0x61, count: 1 << 20)
            try client.send(multibulk([bytes("SET"), bytes("big"), value]))
            #expect(try client.read(exactly: 5) == bytes("+OK\r\n"))
            try client.send(bytes("GET big\r\n"))
            #expect(try client.read(exactly: 12 + value.count) == bytes("$1048576\r\n") + value + bytes("\r\n"))
            let refused = try TestClient(port: port)
            try refused.send(multibulk([bytes("SET"), bytes("big"), value + [0x61]]))
            #expect(try refused.readToEnd() == bytes("-ERR Protocol error: invalid bulk length\r\n"))
        }
    }

    /// SET's options as redis-server parses them: the same option twice
    /// takes the last amount; options that exclude each other are refused.
    @Test func setTakesTheLastOfARepeatedOption() throws {
        try withKV { port in
            let client = try TestClient(port: port)
            try exchange(client, "SET k v EX 10 EX 20\r\nTTL k\r\n", "+OK\r\n:20\r\n")
            try exchange(client, "SET k v PX 1000 PX 30000\r\nTTL k\r\n", "+OK\r\n:30\r\n")
            try exchange(client, "SET k v NX NX\r\nSET k w XX XX GET GET\r\n", "$-1\r\n$1\r\nv\r\n")
            try exchange(client, "SET k v EX 10 PX 100\r\n", "-ERR syntax error\r\n")
            try exchange(
                client, "SET k v KEEPTTL EX 10\r\nSET k v EXAT 1 PXAT 1\r\n",
                "-ERR syntax error\r\n-ERR syntax error\r\n")
        }
    }

    /// CLIENT ID and HELLO's id are unique for the process's life: never the
    /// slot (which repeats across loops and after reuse).
    @Test(arguments: [1, 2])
    func clientIDsAreUniqueAndNeverReused(threads: Int) throws {
        try withKV(threads: threads) { port in
            var ids: [Int] = []
            for _ in 0..<3 {
                let client = try TestClient(port: port)
                ids.append(try clientID(client))
                client.close()
            }
            let together = try (0..<6).map { _ in try TestClient(port: port) }
            for client in together { ids.append(try clientID(client)) }
            #expect(Set(ids).count == ids.count, "ids \(ids)")
            #expect(Array(ids[..<3]) == Array(ids[..<3]).sorted(), "in the order connections opened: \(ids)")
            // HELLO names the same id.
            let id = ids[3]
            let hello =
                "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n"
                + "$2\r\nid\r\n:\(id)\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
                + "$7\r\nmodules\r\n*0\r\n"
            try exchange(together[0], "HELLO 2\r\n", hello)
        }
    }

    /// Clients blocked in BLPOP on both loops are each served one pushed
    /// element (those on the pusher's loop at once, the others when their
    /// loop is woken through Keel's mailbox); the pusher's pipeline goes on.
    @Test func blockedClientsOnEveryLoopAreServed() throws {
        try withKV(threads: 2) { port in
            let waiters = try (0..<6).map { _ in try TestClient(port: port) }
            for waiter in waiters {
                try exchange(waiter, "PING\r\n", "+PONG\r\n")
                try waiter.send(bytes("BLPOP queue 0\r\nECHO after\r\n"))
            }
            let pusher = try TestClient(port: port)
            // Each BLPOP is registered before INFO counts it (same store).
            var blocked = 0
            for _ in 0..<200 where blocked < 6 {
                try pusher.send(bytes("INFO clients\r\n"))
                let info = try readBulk(pusher)
                blocked =
                    Int(info.split(separator: "\r\n").first { $0.hasPrefix("blocked_clients:") }?.dropFirst(16) ?? "")
                    ?? 0
                if blocked < 6 { usleep(10_000) }
            }
            #expect(blocked == 6)
            try exchange(pusher, "RPUSH queue a b c d e f\r\n", ":6\r\n")
            var served: [String] = []
            for waiter in waiters {
                let reply = try waiter.read(exactly: 22)
                #expect(reply.prefix(19) == bytes("*2\r\n$5\r\nqueue\r\n$1\r\n")[...], "\(reply)")
                served.append(String(decoding: reply[19..<20], as: UTF8.self))
                #expect(try waiter.read(exactly: 11) == bytes("$5\r\nafter\r\n"))
            }
            #expect(served.sorted() == ["a", "b", "c", "d", "e", "f"])
            try exchange(pusher, "LLEN queue\r\n", ":0\r\n")
        }
    }

    /// KEYS over a keyspace too large to list in one go is walked a slice
    /// per iteration: the reply is whole, each key once, what the client
    /// pipelined after it follows it, and other clients are served meanwhile.
    @Test(arguments: [1, 2])
    func keysOverALargeKeyspaceAnswersWholeAndInOrder(threads: Int) throws {
        try withKV(threads: threads) { port in
            let loader = try TestClient(port: port)
            let count = 30_000
            for batch in stride(from: 0, to: count, by: 1_000) {
                let pairs = (batch..<batch + 1_000).map { String(format: "key:%05d v", $0) }.joined(separator: " ")
                try exchange(loader, "MSET \(pairs)\r\n", "+OK\r\n")
            }
            let lister = try TestClient(port: port)
            try lister.send(bytes("KEYS key:*\r\nPING\r\n"))
            try exchange(loader, "PING\r\n", "+PONG\r\n")
            let header = "*\(count)\r\n"
            let reply = try lister.read(exactly: header.utf8.count + count * 15 + 7)
            let text = String(decoding: reply, as: UTF8.self)
            #expect(text.hasPrefix(header) && text.hasSuffix("+PONG\r\n"))
            let keys = text.dropFirst(header.utf8.count).dropLast(7).split(separator: "\r\n").enumerated()
                .filter { $0.offset % 2 == 1 }.map { String($0.element) }
            #expect(keys.count == count && Set(keys).count == count)
            #expect(Set(keys) == Set((0..<count).map { String(format: "key:%05d", $0) }))
        }
    }

    /// A client that does not read its long KEYS reply holds up only
    /// itself: a KEYS asked after it is walked and answered meanwhile.
    @Test func aSlowReaderOfKeysDoesNotHoldUpTheNext() throws {
        try withKV { port in
            let loader = try TestClient(port: port)
            let prefix = String(repeating: "p", count: 40)
            for batch in stride(from: 0, to: 150_000, by: 1_000) {
                let pairs = (batch..<batch + 1_000).map { "\(prefix)\($0) v" }.joined(separator: " ")
                try exchange(loader, "MSET \(pairs)\r\n", "+OK\r\n")
            }
            try exchange(loader, "SET other v\r\n", "+OK\r\n")
            // About 7 MB of reply to a client with a small receive buffer
            // that reads none of it (yet).
            let slow = try TestClient(port: port, receiveBufferBytes: 16_384)
            try slow.send(bytes("KEYS *\r\n"))
            usleep(200_000)
            // Its own KEYS walks the 150,001 keys too, after the first walk:
            // under a sanitizer on a loaded machine that passed 10 s once.
            let next = try TestClient(port: port, timeoutSeconds: 60)
            try exchange(next, "KEYS oth*\r\n", "*1\r\n$5\r\nother\r\n")
            let header = "*150001\r\n"
            let reply = try slow.read(exactly: header.utf8.count)
            #expect(reply == bytes(header), "the slow reader's reply is whole when it reads")
        }
    }

    /// PUBLISH reaches subscribers on every loop and counts them.
    @Test func publishReachesSubscribersOnEveryLoop() throws {
        try withKV(threads: 2) { port in
            let subscribers = try (0..<4).map { _ in try TestClient(port: port) }
            let confirmation = "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
            for subscriber in subscribers { try exchange(subscriber, "SUBSCRIBE news\r\n", confirmation) }
            let publisher = try TestClient(port: port)
            try exchange(publisher, "PUBLISH news hello\r\n", ":4\r\n")
            let message = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
            for subscriber in subscribers {
                #expect(try subscriber.read(exactly: message.utf8.count) == bytes(message))
            }
        }
    }

    /// Until it authenticates, a client may send at most 10 arguments and
    /// bulks of 16 KiB (redis-server's limits: a stranger cannot make the
    /// server buffer much); the refusal is Redis's error, then the close.
    /// Authenticated, it may send what anyone may.
    @Test func anUnauthenticatedClientCannotMakeTheServerBufferMuch() throws {
        try withKV(settings: KVSettings(requirePass: "secret")) { port in
            let many = try TestClient(port: port)
            try exchange(many, "GET k\r\n", "-NOAUTH Authentication required.\r\n")
            try many.send(bytes("*11\r\n"))
            let manyError = "-ERR Protocol error: unauthenticated multibulk length\r\n"
            #expect(try many.read(exactly: manyError.utf8.count) == bytes(manyError))
            #expect(many.waitForClose())
            let big = try TestClient(port: port)
            try big.send(bytes("*2\r\n$4\r\nAUTH\r\n$16385\r\n"))
            let bigError = "-ERR Protocol error: unauthenticated bulk length\r\n"
            #expect(try big.read(exactly: bigError.utf8.count) == bytes(bigError))
            #expect(big.waitForClose())
            let trusted = try TestClient(port: port)
            try exchange(trusted, "AUTH secret\r\n", "+OK\r\n")
            let value = String(repeating: "v", count: 20_000)
            try exchange(trusted, "SET k \(value)\r\n", "+OK\r\n")
            try exchange(trusted, "MSET a 1 b 2 c 3 d 4 e 5 f 6\r\n", "+OK\r\n")
            // RESET forgets the password: the limits are back.
            try exchange(trusted, "RESET\r\n", "+RESET\r\n")
            try trusted.send(bytes("*11\r\n"))
            #expect(try trusted.read(exactly: manyError.utf8.count) == bytes(manyError))
            #expect(trusted.waitForClose())
        }
    }

    /// CLIENT INFO names the server's end of the connection (laddr), and
    /// CLIENT KILL LADDR finds clients by it, as redis-server.
    @Test func clientsAreListedAndKilledByTheirLocalAddress() throws {
        try withKV { port in
            let killer = try TestClient(port: port)
            let victim = try TestClient(port: port)
            try killer.send(bytes("CLIENT INFO\r\n"))
            let info = try readBulk(killer)
            #expect(info.contains(" laddr=127.0.0.1:\(port) "), "\(info)")
            try exchange(victim, "PING\r\n", "+PONG\r\n")
            try exchange(killer, "CLIENT KILL LADDR 127.0.0.1:1 SKIPME yes\r\n", ":0\r\n")
            try exchange(killer, "CLIENT KILL LADDR 127.0.0.1:\(port) SKIPME yes\r\n", ":1\r\n")
            #expect(victim.waitForClose())
            try exchange(killer, "PING\r\n", "+PONG\r\n")
        }
    }

    /// Requests sent in the same write as the AUTH (or HELLO AUTH) that
    /// lifts the limits are the authenticated client's: redis-py's and
    /// redis-cli --pipe's way. Also a bulk whose header came with the AUTH
    /// and whose body comes later.
    @Test func requestsPipelinedBehindAuthAreNotRestricted() throws {
        try withKV(settings: KVSettings(requirePass: "secret")) { port in
            let mset = "*11\r\n$4\r\nMSET\r\n" + (0..<5).map { "$1\r\nk\r\n$1\r\n\($0)\r\n" }.joined()
            let auth = try TestClient(port: port)
            try exchange(auth, "AUTH secret\r\n" + mset + "GET k\r\n", "+OK\r\n+OK\r\n$1\r\n4\r\n")
            let hello = try TestClient(port: port)
            try hello.send(bytes("HELLO 2 AUTH default secret\r\n" + mset))
            // HELLO's map (as an array of 14 in RESP2), then MSET's +OK.
            var received: [UInt8] = []
            while received.suffix(5) != bytes("+OK\r\n") && received.count < 2_000 {
                received += try hello.read(exactly: 1)
            }
            #expect(String(decoding: received, as: UTF8.self).hasPrefix("*14\r\n$6\r\nserver\r\n"))
            #expect(received.suffix(5) == bytes("+OK\r\n"))
            let split = try TestClient(port: port)
            let value = String(repeating: "v", count: 20_000)
            try split.send(bytes("AUTH secret\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$20000\r\n"))
            #expect(try split.read(exactly: 5) == bytes("+OK\r\n"))
            try exchange(split, value + "\r\n", "+OK\r\n")
            try exchange(split, "STRLEN b\r\n", ":20000\r\n")
        }
    }

    /// With several loops, EXEC holds the shards of its commands' keys; a
    /// queued FLUSHALL or KEYS visits every shard: EXEC then locks them all
    /// first, and nothing is locked twice (it used to deadlock).
    @Test func execOfWholeStoreCommandsLocksEveryShardOnce() throws {
        try withKV(threads: 2) { port in
            let client = try TestClient(port: port)
            try exchange(
                client, "MULTI\r\nSET a 1\r\nKEYS *\r\nFLUSHALL\r\nSCAN 0\r\nRANDOMKEY\r\nEXEC\r\n",
                "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
                    + "*5\r\n+OK\r\n*1\r\n$1\r\na\r\n+OK\r\n*2\r\n$1\r\n0\r\n*0\r\n$-1\r\n")
            try exchange(client, "DBSIZE\r\n", ":0\r\n")
        }
    }

    /// A bulk string reply's payload, as text.
    private func readBulk(_ client: TestClient) throws -> String {
        var line: [UInt8] = []
        while line.suffix(2) != [13, 10] { line += try client.read(exactly: 1) }
        let length = try #require(Int(String(decoding: line.dropFirst().dropLast(2), as: UTF8.self)))
        return String(decoding: try client.read(exactly: length + 2).dropLast(2), as: UTF8.self)
    }

    private func clientID(_ client: TestClient) throws -> Int {
        try client.send(bytes("CLIENT ID\r\n"))
        var line: [UInt8] = []
        while line.suffix(2) != [13, 10] { line += try client.read(exactly: 1) }
        return try #require(Int(String(decoding: line.dropFirst().dropLast(2), as: UTF8.self)))
    }

    /// Expiry amounts whose sum with the Unix time in milliseconds would
    /// leave Int64 are refused as redis-server refuses them (keel-kv used to
    /// add them to a clock that starts at boot, and accepted them).
    @Test func expiryAmountsPastRedisLimitsAreRefused() throws {
        try withKV { port in
            let client = try TestClient(port: port)
            let invalidSet = "-ERR invalid expire time in 'set' command\r\n"
            try exchange(client, "SET k v PX 9223371000000000000\r\n", invalidSet)
            try exchange(client, "SET k v EX 9223372036854775\r\n", invalidSet)
            try exchange(client, "SET k v PX 0\r\nSET k v EX -1\r\n", invalidSet + invalidSet)
            try exchange(client, "SET k v PX 9223370000000000000\r\n", "+OK\r\n")
            try exchange(
                client, "SET k v\r\nPEXPIRE k 9223371000000000000\r\n",
                "+OK\r\n-ERR invalid expire time in 'pexpire' command\r\n")
            try exchange(client, "EXPIRE k 9223372036854776\r\n", "-ERR invalid expire time in 'expire' command\r\n")
            try exchange(client, "EXPIRE k -9223372036854776\r\n", "-ERR invalid expire time in 'expire' command\r\n")
            try exchange(client, "EXPIRE k -9223372036854775\r\nEXISTS k\r\n", ":1\r\n:0\r\n")
        }
    }

    /// CLIENT's subcommands check their arity; names with spaces are refused
    /// through HELLO as through CLIENT SETNAME.
    @Test func clientSubcommandsCheckTheirArguments() throws {
        try withKV { port in
            let client = try TestClient(port: port)
            try exchange(
                client, "CLIENT GETNAME extra\r\n", "-ERR wrong number of arguments for 'client|getname' command\r\n")
            try exchange(client, "CLIENT ID extra\r\n", "-ERR wrong number of arguments for 'client|id' command\r\n")
            try exchange(
                client, "CLIENT SETNAME a b\r\n", "-ERR wrong number of arguments for 'client|setname' command\r\n")
            let invalidName = "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
            try exchange(client, "HELLO 2 SETNAME \"a b\"\r\n", invalidName)
            try exchange(client, "CLIENT GETNAME\r\n", "$-1\r\n")
            try client.send(bytes("HELLO 2 SETNAME ok\r\nCLIENT GETNAME\r\nQUIT\r\n"))
            let rest = String(decoding: try client.readToEnd(), as: UTF8.self)
            #expect(rest.hasPrefix("*14\r\n") && rest.hasSuffix("$2\r\nok\r\n+OK\r\n"), "\(rest)")
        }
    }

    /// Error replies quote a request's bytes as they came (not replaced by
    /// U+FFFD), cut at a NUL as redis-server's %s cuts them, with CR and LF
    /// as spaces so the reply stays one line.
    @Test func errorRepliesQuoteRequestBytesAsRedisDoes() throws {
        try withKV { port in
            let client = try TestClient(port: port)
            try client.send(multibulk([[0x4E, 0x4F, 0xFF], [0x61, 0x00, 0x62], [0x0D, 0x0A]]))
            let expected =
                bytes("-ERR unknown command 'NO") + [0xFF] + bytes("', with args beginning with: 'a' '  ' \r\n")
            #expect(try client.read(exactly: expected.count) == expected)
            let broken = try TestClient(port: port)
            try broken.send(bytes("*1\r\n\r\n"))
            #expect(try broken.readToEnd() == bytes("-ERR Protocol error: expected '$', got ' '\r\n"))
        }
    }
}
