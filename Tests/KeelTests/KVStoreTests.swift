// keel-kv's store: active expiry deletes keys nobody touches, in bounded ticks.

import Glibc
import Testing

@testable import Keel
@testable import KeelKV

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
