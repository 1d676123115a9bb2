// keel-kv's own layers: the byte-keyed table against a Dictionary model, the
// store's expiry (lazy and in bounded ticks), the command layer over a real
// socket (replies byte for byte), and atomicity when several loops share the
// store. Real clients and redis-server itself are in Tests/clients/run.sh.

import Glibc
import KeelKV
import Testing

@testable import Keel

@Suite struct ByteTableTests {
    @Test(arguments: [1, 2, 3] as [UInt64])
    func matchesADictionaryUnderRandomOperations(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var table = ByteTable<Int>()
        var model: [[UInt8]: Int] = [:]
        for step in 0..<20_000 {
            // Few distinct keys, so inserts, updates and removals collide often.
            let key = Array("k\(random.next() % 500)".utf8)
            let hash = key.withUnsafeBytes { ByteHash.hash($0) }
            let position = key.withUnsafeBytes { table.position(of: $0, hash: hash) }
            #expect((position != nil) == (model[key] != nil), "seed \(seed) step \(step)")
            switch random.next() % 3 {
            case 0:
                if let position {
                    table[position: position] = step
                } else {
                    key.withUnsafeBytes { _ = table.insert($0, hash: hash, value: step) }
                }
                model[key] = step
            case 1:
                if let position { #expect(table.remove(at: position) == model.removeValue(forKey: key)) }
            default:
                if let position { #expect(table[position: position] == model[key]) }
            }
            if step % 1_000 == 0 { table.checkInvariants() }
        }
        table.checkInvariants()
        #expect(table.count == model.count)
        var seen = 0
        table.forEachPosition { position in
            #expect(model[table.key(at: position)] == table[position: position])
            seen += 1
        }
        #expect(seen == model.count)
    }

    @Test func hashDependsOnEveryByte() {
        let base = [UInt8](repeating: 7, count: 23)
        let hashes = (0..<base.count).map { index -> UInt64 in
            var changed = base
            changed[index] ^= 1
            return changed.withUnsafeBytes { ByteHash.hash($0) }
        }
        #expect(Set(hashes).count == base.count)
        #expect(!hashes.contains(base.withUnsafeBytes { ByteHash.hash($0) }))
    }
}

@Suite struct KVStoreTests {
    @Test func activeExpiryDeletesKeysNobodyTouchesInBoundedTicks() {
        let store = KVStore(loops: 1)
        let shard = store.shards[0]
        var clock = KVClock()
        let past = clock.nowMs - 1
        for index in 0..<5_000 {
            Array("gone:\(index)".utf8).withUnsafeBytes {
                shard.put($0, hash: ByteHash.hash($0), KVEntry(.string([1]), expireAtMs: past))
            }
            Array("kept:\(index)".utf8).withUnsafeBytes {
                shard.put($0, hash: ByteHash.hash($0), KVEntry(.string([1]), expireAtMs: 0))
            }
        }
        #expect(shard.keysWithExpiry == 5_000)
        // One tick examines a bounded number of slots, never the whole table.
        let first = store.expireSome(budget: 1_000)
        #expect(first > 0 && first <= 1_000)
        var ticks = 1
        while shard.keysWithExpiry > 0 && ticks < 100 {
            _ = store.expireSome(budget: 1_000)
            ticks += 1
        }
        #expect(shard.keysWithExpiry == 0 && store.count == 5_000, "only the expired keys went, in \(ticks) ticks")
        shard.table.checkInvariants()
    }
}

/// A RESP client's view of keel-kv: one request, one exact reply.
@Suite(.serialized) struct KVCommandLayerTests {
    func withKV(threads: Int = 1, _ body: (Int) throws -> Void) throws {
        var configuration = testConfiguration()
        configuration.threads = threads
        let store = KVStore(loops: threads)
        try withServer(configuration, format: RESPFormat(), handler: KVHandler(store: store)) { _, port in
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
}
