// Random commands through the whole command layer: every row of the
// command table (subcommands too) with arguments drawn from keys that
// collide across types, numbers at and past every edge, option words,
// glob patterns and random bytes, from several clients (some block,
// subscribe or open transactions). Each reply must be one well-formed
// RESP value; every few hundred commands the store's invariants are checked
// (tables, expiry index, each collection's structure, no empty collection).
// A replica attached from the start gets the stream; replayed into an empty
// store it must give the same data (DEBUG DIGEST), which checks how every
// command is propagated against what it did.
// Seeded: a failure names its seed and step. Run under the sanitizers by
// scripts/sanitizers.sh, this is the command layer's fuzzing.

import KeelTestSupport
import Testing

@testable import KeelKV

@Suite struct KVCommandFuzzTests {
    static let words: [String] = [
        "EX", "PX", "EXAT", "PXAT", "KEEPTTL", "PERSIST", "NX", "XX", "GT", "LT", "CH", "INCR", "GET", "WITHSCORES",
        "WITHSCORE", "LIMIT", "BYSCORE", "BYLEX", "REV", "COUNT", "MATCH", "TYPE", "LEFT", "RIGHT", "BEFORE", "AFTER",
        "RANK", "MAXLEN", "WEIGHTS", "AGGREGATE", "SUM", "MIN", "MAX", "WITHVALUES", "ASYNC", "SYNC", "REPLACE",
        "DB", "ID", "ENCODING", "string", "list", "hash", "set", "zset", "WITHDIST", "WITHHASH", "WITHCOORD", "ASC",
        "DESC", "ANY", "STORE", "STOREDIST", "FROMMEMBER", "FROMLONLAT", "BYRADIUS", "BYBOX", "m", "km", "mi", "ft",
    ]
    static let numbers: [String] = [
        "0", "1", "-1", "2", "3", "10", "100", "129", "-100", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "0.5", "-0.5", "1e308", "1e309", "inf", "-inf", "+inf", "nan", "(1", "(-1", "[a", "(b",
        "+", "-", "0x10", " 1", "1 ", "", "0.01", "3.0e3", "13.361389", "38.115556", "85.05112878", "180", "-180",
    ]
    static let patterns: [String] = ["*", "k*", "?", "[a-c]*", "[^x]", "\\", "[", "k[0-9]", "*\\*", "h?"]

    /// The commands of a replication stream (RESP arrays of bulk strings).
    static func commands(in stream: [UInt8]) -> [[[UInt8]]] {
        var commands: [[[UInt8]]] = []
        var position = 0
        func number() -> Int {
            var end = position
            while stream[end] != 13 { end += 1 }
            defer { position = end + 2 }
            return Int(String(decoding: stream[(position + 1)..<end], as: UTF8.self))!
        }
        while position < stream.count {
            var command: [[UInt8]] = []
            for _ in 0..<number() {
                let length = number()
                command.append(Array(stream[position..<(position + length)]))
                position += length + 2
            }
            commands.append(command)
        }
        return commands
    }

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomCommandsKeepTheStoreSound(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let kv = KVHarness()
        // A replica from the start: its stream, replayed into an empty
        // store, must give the same data (the auditor compares digests).
        let auditor = kv.session
        let follower = kv.openClient()
        kv.use(follower)
        #expect(RESPValidator.isSnapshotReply(kv.run([Array("SYNC".utf8)])))
        var stream: [UInt8] = []
        var clients = [kv.openClient(), kv.openClient(), kv.openClient()]
        var rows: [(name: String, subcommand: String?, spec: KVCommandSpec)] = []
        for row in KVCommandTable.all {
            if row.subcommands.isEmpty { rows.append((row.nameText, nil, row)) }
            for sub in row.subcommands { rows.append((row.nameText, sub.nameText, sub)) }
        }
        var served = 0
        for step in 0..<20_000 {
            let index = Int(random.next() % UInt64(clients.count))
            if clients[index].blocked != nil {
                // A client blocked for ever holds all it is sent: one that
                // gives up disconnects (its wait must be forgotten).
                kv.close(clients[index])
                clients[index] = kv.openClient()
            }
            let client = clients[index]
            kv.use(client)
            if client.isSubscriber && random.next() % 4 == 0 { kv("RESET") }
            let (name, subcommand, spec) = rows[Int(random.next() % UInt64(rows.count))]
            var arguments = [Array(name.utf8)]
            if let subcommand { arguments.append(Array(subcommand.utf8)) }
            let wanted = spec.arity >= 0 ? spec.arity : -spec.arity + Int(random.next() % 5)
            let extra = random.next() % 8 == 0 ? Int(random.next() % 3) : 0  // arity errors too
            while arguments.count < wanted + extra { arguments.append(argument(&random)) }
            if !KVFuzzCheck.admits(arguments) { continue }
            let reply = kv.run(arguments)
            if reply.first != UInt8(ascii: "-") && !reply.isEmpty { served += 1 }
            let problem = KVFuzzCheck.replyProblem(reply, of: client, wasReplica: false)
            #expect(
                problem == nil,
                "seed \(seed) step \(step): \(arguments.map { String(decoding: $0, as: UTF8.self) }) \(problem ?? "")")
            if client.isReplica {
                // SYNC made it a replica: it is done as a fuzzing client.
                kv.close(client)
                clients[index] = kv.openClient()
            }
            if random.next() % 50 == 0 {
                kv.clock.advance(by: Int64(random.next() % 2_000))
                kv.tick()
            }
            if step % 500 == 499 { checkStore(kv) }
            for (target, bytes) in kv.loop.deliveredWithoutLoop where target == follower.client { stream += bytes }
            kv.loop.deliveredWithoutLoop.removeAll()
        }
        #expect(RESPValidator.isOneValue(stream))
        let replica = KVHarness()
        for command in Self.commands(in: stream) { replica.run(command) }
        kv.use(auditor)
        #expect(replica("DEBUG", "DIGEST") == kv("DEBUG", "DIGEST"), "seed \(seed): the replica's data differs")
        kv.clock.advance(by: 1_000_000)
        kv.tick()
        checkStore(kv)
        // Most commands must get past argument checking, or little is tested.
        #expect(served > 8_000, "only \(served) of 20,000 commands were served")
    }

    private func argument(_ random: inout SeededRandom) -> [UInt8] {
        switch random.next() % 10 {
        case 0, 1, 2: return Array("k\(random.next() % 6)".utf8)
        case 3, 4: return Array(Self.numbers[Int(random.next() % UInt64(Self.numbers.count))].utf8)
        case 5, 6: return Array(Self.words[Int(random.next() % UInt64(Self.words.count))].utf8)
        case 7: return Array(Self.patterns[Int(random.next() % UInt64(Self.patterns.count))].utf8)
        case 8: return Array("m\(random.next() % 200)".utf8)
        default:
            let count = Int(random.next() % 80)
            return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
    }

    private func checkStore(_ kv: KVHarness) {
        let problem = kv.auditStore()
        #expect(problem == nil, "\(problem ?? "")")
    }
}
