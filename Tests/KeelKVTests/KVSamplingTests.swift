// Random picks with a count (HRANDFIELD, SRANDMEMBER, ZRANDMEMBER): distinct
// when the count is positive, from every encoding, and drawn by sampling
// rather than a walk per pick (KVSampling).

import Testing

@testable import KeelKV

/// The bulk strings of a flat RESP2 array reply (members without CR or LF).
private func bulkArray(_ reply: String) -> [String]? {
    var lines = reply.components(separatedBy: "\r\n")
    guard lines.first?.first == "*", let count = Int(lines.removeFirst().dropFirst()) else { return nil }
    var items: [String] = []
    for _ in 0..<count {
        guard lines.count >= 2, lines[0].first == "$" else { return nil }
        items.append(lines[1])
        lines.removeFirst(2)
    }
    return items
}

@Suite struct KVSamplingTests {
    @Test func distinctPositionsAreDistinctInRangeAndOfTheCountAsked() {
        var random = KVRandom(seed: 7)
        // Both ways: by draws (at most a third) and by a shuffled prefix.
        for count in [0, 1, 5, 33, 34, 99, 100] {
            let picks = KVSampling.distinctPositions(count, of: 100, using: &random)
            #expect(picks.count == count)
            #expect(Set(picks).count == count, "distinct for \(count)")
            #expect(picks.allSatisfy { (0..<100).contains($0) })
        }
    }

    @Test func eachPositionIsAboutEquallyLikely() {
        var random = KVRandom(seed: 11)
        for count in [2, 6] {  // by draws, and by a shuffled prefix
            var seen = [Int](repeating: 0, count: 10)
            for _ in 0..<5_000 {
                for position in KVSampling.distinctPositions(count, of: 10, using: &random) { seen[position] += 1 }
            }
            // Expected 5,000 × count / 10 each; a spread of ±15% is over 5 sigma.
            let expected = 500 * count
            #expect(seen.allSatisfy { abs($0 - expected) < expected * 15 / 100 }, "\(count): \(seen)")
        }
    }

    @Test func distinctEntriesOfATableAreDistinctMembersOfIt() {
        let table = KVFieldTable()
        let members = (0..<3_000).map { "member:\($0)" }
        for member in members { _ = Array(member.utf8).withUnsafeBytes { table.add($0) } }
        var random = KVRandom(seed: 3)
        for count in [1, 10, 999, 1_001, 2_999, 3_000] {
            let picks = KVSampling.distinctEntries(count, of: table, using: &random)
            let names = picks.map { String(decoding: KVFieldEntry($0).field, as: UTF8.self) }
            #expect(Set(names).count == count, "distinct for \(count)")
            #expect(Set(names).isSubset(of: Set(members)))
        }
    }

    @Test func positiveCountsGiveDistinctMembersInEveryEncoding() {
        let kv = KVHarness()
        // A pack and a table of fields; an intset, a pack and a table of members.
        kv("HSET", "small-hash", "a", "1", "b", "2", "c", "3", "d", "4")
        for index in 0..<600 { kv("HSET", "big-hash", "f\(index)", "\(index)") }
        kv("SADD", "ints", "1", "2", "3", "4", "5", "6")
        kv("SADD", "words", "a", "b", "c", "d", "e", "f")
        for index in 0..<600 { kv("SADD", "big-set", "m\(index)") }
        for index in 0..<300 { kv("ZADD", "big-zset", "\(index)", "z\(index)") }
        #expect(kv("OBJECT", "ENCODING", "big-hash") == bulk("hashtable"))
        #expect(kv("OBJECT", "ENCODING", "ints") == bulk("intset"))
        #expect(kv("OBJECT", "ENCODING", "big-set") == bulk("hashtable"))
        let cases: [(command: [String], size: Int)] = [
            (["HRANDFIELD", "small-hash"], 4), (["HRANDFIELD", "big-hash"], 600),
            (["SRANDMEMBER", "ints"], 6), (["SRANDMEMBER", "words"], 6), (["SRANDMEMBER", "big-set"], 600),
            (["ZRANDMEMBER", "big-zset"], 300),
        ]
        for (command, size) in cases {
            for count in [1, 3, size / 2, size - 1, size, size + 5] {
                let reply = kv.run((command + ["\(count)"]).map { Array($0.utf8) })
                let items = bulkArray(String(decoding: reply, as: UTF8.self))
                #expect(items?.count == min(count, size), "\(command) \(count)")
                #expect(Set(items ?? []).count == items?.count, "\(command) \(count): distinct")
            }
            // A negative count may repeat, and gives exactly that many.
            let repeated = bulkArray(
                String(decoding: kv.run((command + ["-50"]).map { Array($0.utf8) }), as: UTF8.self))
            #expect(repeated?.count == 50, "\(command) -50")
        }
        let withValues = bulkArray(kv("HRANDFIELD", "big-hash", "5", "WITHVALUES")) ?? []
        #expect(withValues.count == 10)
        for pair in stride(from: 0, to: withValues.count, by: 2) {
            #expect("f" + withValues[pair + 1] == withValues[pair], "a field with its own value")
        }
    }
}
