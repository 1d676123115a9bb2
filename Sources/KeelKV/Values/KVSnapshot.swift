// KVSnapshot: the whole dataset as an RDB file of version 10, what
// redis-server 7.0 sends a replica before its stream: the magic and
// version, auxiliary fields (the server's version, the replication id and
// offset the stream starts at), database 0 with its sizes, each live key
// (its expiry in ms first, where it has one) in DUMP's value encodings
// (KVDumpFormat), the end marker and a CRC-64 of everything before it.
// redis-server loads it as a replica; keel-kv has no persistence of its
// own, so nothing else reads it.
//
// Built in memory, in the loop, with every shard locked: a dataset's
// snapshot holds the loop for as long as it takes to encode (redis-server
// forks to write its own), and costs its size in memory until sent.

import KeelPosix

enum KVSnapshot {
    private static let auxiliary: UInt8 = 0xFA
    private static let resizeDatabase: UInt8 = 0xFB
    private static let expiryMs: UInt8 = 0xFC
    private static let selectDatabase: UInt8 = 0xFE
    private static let end: UInt8 = 0xFF

    /// The RDB file of `context.store`'s live keys (every shard locked by
    /// the caller), naming `replicationID` and `offset`.
    static func rdb(_ context: KVContext, replicationID: [UInt8], offset: Int64) -> [UInt8] {
        var out = Array("REDIS00\(KVDumpFormat.version)".utf8)
        let nowMs = context.nowMs
        func aux(_ name: String, _ value: [UInt8]) {
            out.append(auxiliary)
            KVDumpFormat.writeString(Array(name.utf8), to: &out)
            KVDumpFormat.writeString(value, to: &out)
        }
        aux("redis-ver", Array("7.0.15".utf8))
        aux("redis-bits", Array(String(Int.bitWidth).utf8))
        aux("ctime", Array(String(nowMs / 1_000).utf8))
        aux("used-mem", Array(String(HeapMemory.allocatedBytes).utf8))
        aux("repl-stream-db", Array("0".utf8))
        aux("repl-id", replicationID)
        aux("repl-offset", Array(String(offset).utf8))
        aux("aof-base", Array("0".utf8))
        var keys = 0
        var volatile = 0
        var entries: [UInt8] = []
        for shard in context.store.shards {
            shard.forEachEntry { entry in
                if let expireAt = entry.expireAtMs {
                    // An expired key not yet deleted is not sent: its DEL
                    // comes in the stream when it is.
                    guard expireAt > nowMs else { return }
                    entries.append(expiryMs)
                    withUnsafeBytes(of: UInt64(bitPattern: expireAt).littleEndian) { entries.append(contentsOf: $0) }
                    volatile += 1
                }
                let value = KVDumpCommands.value(of: entry, context)
                entries.append(KVDumpFormat.typeByte(of: value))
                KVDumpFormat.writeString(Array(entry.key), to: &entries)
                KVDumpFormat.writeBody(of: value, to: &entries)
                keys += 1
            }
        }
        out.append(selectDatabase)
        KVDumpFormat.writeLength(0, to: &out)
        out.append(resizeDatabase)
        KVDumpFormat.writeLength(keys, to: &out)
        KVDumpFormat.writeLength(volatile, to: &out)
        out += entries
        out.append(end)
        let crc = KVDumpFormat.crc64(out)
        withUnsafeBytes(of: crc.littleEndian) { out.append(contentsOf: $0) }
        return out
    }
}
