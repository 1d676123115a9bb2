// keel-kv's byte-keyed table against a Dictionary model, and its hash.

import Glibc
import KeelTestSupport
import Testing

@testable import Keel
@testable import KeelKV

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
