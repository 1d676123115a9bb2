// Random commands through the whole command layer: every row of the
// command table (subcommands too) with arguments drawn from keys that
// collide across types, numbers at and past every edge, option words,
// glob patterns and random bytes, from several clients (some block,
// subscribe or open transactions). Each reply must be one well-formed
// RESP value; every few hundred commands the store's invariants are checked
// (tables, expiry index, each collection's structure, no empty collection).
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
        "DB", "ID", "ENCODING", "string", "list", "hash", "set", "zset",
    ]
    static let numbers: [String] = [
        "0", "1", "-1", "2", "3", "10", "100", "129", "-100", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "0.5", "-0.5", "1e308", "1e309", "inf", "-inf", "+inf", "nan", "(1", "(-1", "[a", "(b",
        "+", "-", "0x10", " 1", "1 ", "", "0.01", "3.0e3",
    ]
    static let patterns: [String] = ["*", "k*", "?", "[a-c]*", "[^x]", "\\", "[", "k[0-9]", "*\\*", "h?"]

    @Test(arguments: [1, 2, 3, 4] as [UInt64])
    func randomCommandsKeepTheStoreSound(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let kv = KVHarness()
        var clients = [kv.session, kv.openClient(), kv.openClient()]
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
            if name == "debug" || name == "shutdown" { continue }
            let reply = kv.run(arguments)
            if reply.first != UInt8(ascii: "-") && !reply.isEmpty { served += 1 }
            if client.blocked == nil {
                #expect(
                    RESPValidator.isOneValue(reply),
                    "seed \(seed) step \(step): \(arguments.map { String(decoding: $0, as: UTF8.self) }) -> \(String(decoding: reply.prefix(200), as: UTF8.self))"
                )
            }
            if random.next() % 50 == 0 {
                kv.clock.advance(by: Int64(random.next() % 2_000))
                kv.tick()
            }
            if step % 500 == 499 { checkStore(kv) }
            _ = kv.delivered()
        }
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
        kv.checkInvariants()
        for shard in kv.store.shards {
            shard.forEachEntry { entry in
                switch (entry.type, entry.encoding) {
                case (.string, _): break
                case (.list, _):
                    let list = KVObjects.object(entry.object, as: KVQuickList.self)
                    list.checkInvariants()
                    #expect(list.count > 0, "an empty list is kept")
                case (.hash, .general), (.set, .general):
                    let table = KVObjects.object(entry.object, as: KVFieldTable.self)
                    table.checkInvariants()
                    #expect(table.count > 0, "an empty hash or set is kept")
                case (.zset, .general):
                    let set = KVObjects.object(entry.object, as: KVSortedSet.self)
                    set.checkInvariants()
                    #expect(set.count > 0, "an empty sorted set is kept")
                case (.set, .integer):
                    let set = KVIntSet(entry.object)
                    set.checkInvariants()
                    #expect(set.count > 0, "an empty intset is kept")
                default:
                    let pack = KVPack(entry.object)
                    pack.checkInvariants()
                    #expect(pack.count > 0, "an empty pack is kept")
                }
            }
        }
    }
}

/// Whether bytes are exactly one RESP2 or RESP3 value (several for
/// replies that are several, such as SUBSCRIBE's: then all must parse).
enum RESPValidator {
    static func isOneValue(_ bytes: [UInt8]) -> Bool {
        var position = 0
        guard !bytes.isEmpty else { return false }
        while position < bytes.count {
            guard value(bytes, &position) else { return false }
        }
        return position == bytes.count
    }

    private static func line(_ bytes: [UInt8], _ position: inout Int) -> [UInt8]? {
        var end = position
        while end + 1 < bytes.count && !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
        guard end + 1 < bytes.count else { return nil }
        defer { position = end + 2 }
        return Array(bytes[position..<end])
    }

    private static func value(_ bytes: [UInt8], _ position: inout Int) -> Bool {
        guard position < bytes.count else { return false }
        let kind = bytes[position]
        position += 1
        guard let text = line(bytes, &position) else { return false }
        let number = Int(String(decoding: text, as: UTF8.self))
        switch kind {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ","), UInt8(ascii: "("), UInt8(ascii: "#"):
            return true
        case UInt8(ascii: ":"): return number != nil
        case UInt8(ascii: "_"): return text.isEmpty
        case UInt8(ascii: "$"), UInt8(ascii: "="):
            guard let length = number else { return false }
            if length < 0 { return length == -1 }
            guard position + length + 2 <= bytes.count else { return false }
            position += length + 2
            return bytes[position - 2] == 13 && bytes[position - 1] == 10
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
            guard let count = number else { return false }
            if count < 0 { return count == -1 && kind == UInt8(ascii: "*") }
            let items = kind == UInt8(ascii: "%") ? count * 2 : count
            for _ in 0..<items where !value(bytes, &position) { return false }
            return true
        default: return false
        }
    }
}
