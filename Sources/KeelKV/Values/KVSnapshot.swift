// KVSnapshot: the dataset as an RDB file of version 10, what redis-server
// 7.0 sends a replica before its stream: the magic and version, auxiliary
// fields (the server's version, the replication id), database 0 with its
// sizes (a hint to the loader), each live key (its expiry in ms first,
// where it has one) in DUMP's value encodings (KVDumpFormat), the end
// marker and a CRC-64 of everything before it. redis-server loads it as a
// replica; keel-kv has no persistence of its own, so nothing else reads it.
//
// Written by a walk over the shards' buckets, a slice at a time (the
// replica's loop gives it a millisecond per tick, KVReplicaSync), not in
// one go: a million keys take about 0.35 s to encode, which would hold
// every client that long (redis-server forks instead). While a walk is
// under way the shards do not resize, so each key present throughout is
// met exactly once; a key written meanwhile may be met before or after its
// change, so what the replica gets next (KVReplicaSync's catch-up) is the
// current value of every key written since the walk began.

import KeelPosix

/// One snapshot being written (see the file header).
final class KVSnapshotWalk {
    private static let auxiliary: UInt8 = 0xFA
    private static let resizeDatabase: UInt8 = 0xFB
    private static let expiryMs: UInt8 = 0xFC
    private static let selectDatabase: UInt8 = 0xFE
    private static let end: UInt8 = 0xFF
    /// Buckets walked between two readings of the clock.
    static let bucketsPerClockReading = 64

    /// The file so far.
    private(set) var bytes: [UInt8] = []
    /// The CRC of `bytes` up to `checked` (kept as the walk goes, so the end
    /// does not read megabytes at once).
    private var crc: UInt64 = 0
    private var checked = 0
    private var shardIndex = 0
    private var position: Int? = 0
    private let replicationID: [UInt8]

    /// A walk over `store` (its shards paused by the caller), the header
    /// written.
    init(_ store: KVStore, replicationID: [UInt8], nowMs: Int64) {
        self.replicationID = replicationID
        restart(store, nowMs: nowMs)
    }

    /// Begins again from the header (after a flush emptied the tables).
    func restart(_ store: KVStore, nowMs: Int64) {
        shardIndex = 0
        position = 0
        crc = 0
        checked = 0
        bytes = Array("REDIS00\(KVDumpFormat.version)".utf8)
        func aux(_ name: String, _ value: [UInt8]) {
            bytes.append(Self.auxiliary)
            KVDumpFormat.writeString(Array(name.utf8), to: &bytes)
            KVDumpFormat.writeString(value, to: &bytes)
        }
        aux("redis-ver", Array("7.0.15".utf8))
        aux("redis-bits", Array(String(Int.bitWidth).utf8))
        aux("ctime", Array(String(nowMs / 1_000).utf8))
        aux("used-mem", Array(String(KVHeap.used).utf8))
        aux("repl-stream-db", Array("0".utf8))
        aux("repl-id", replicationID)
        aux("aof-base", Array("0".utf8))
        // The sizes, counted now (expired keys, not sent, included).
        let keys = store.count
        let volatile = store.volatileCount
        bytes.append(Self.selectDatabase)
        KVDumpFormat.writeLength(0, to: &bytes)
        bytes.append(Self.resizeDatabase)
        KVDumpFormat.writeLength(keys, to: &bytes)
        KVDumpFormat.writeLength(volatile, to: &bytes)
        bytes.reserveCapacity(bytes.count + keys * 32)
    }

    /// Walks until the clock passes `deadline` (monotonic ns); true once
    /// every shard is walked. Each shard's lock is held while its buckets
    /// are read.
    func step(_ context: KVContext, until deadline: Int64) -> Bool {
        let store = context.store
        let nowMs = context.nowMs
        while shardIndex < store.shards.count {
            let shard = store.shards[shardIndex]
            let next = store.withShards(store.bit(of: shard)) {
                shard.forEachEntry(fromBucket: position ?? 0, buckets: Self.bucketsPerClockReading) {
                    append($0, context, nowMs: nowMs)
                }
            }
            position = next
            if next == nil {
                shardIndex += 1
                position = 0
            }
            if KVMaintenance.monotonicNs() >= deadline { break }
        }
        bytes.withUnsafeBytes {
            crc = KVDumpFormat.crc64(UnsafeRawBufferPointer(rebasing: $0[checked...]), continuing: crc)
        }
        checked = bytes.count
        return shardIndex == store.shards.count
    }

    /// The file, ended: its marker and CRC appended.
    func finish() -> [UInt8] {
        bytes.append(Self.end)
        let crc = [Self.end].withUnsafeBytes { KVDumpFormat.crc64($0, continuing: self.crc) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.append(contentsOf: $0) }
        defer { bytes = [] }
        return bytes
    }

    /// One key, unless it has expired (its DEL reaches the replica later).
    private func append(_ entry: KVEntry, _ context: KVContext, nowMs: Int64) {
        if let expireAt = entry.expireAtMs {
            guard expireAt > nowMs else { return }
            bytes.append(Self.expiryMs)
            withUnsafeBytes(of: UInt64(bitPattern: expireAt).littleEndian) { bytes.append(contentsOf: $0) }
        }
        if entry.type == .string {
            // Strings, most keys, straight from the entry.
            bytes.append(KVDumpFormat.typeByte(of: .string([])))
            KVDumpFormat.writeString(entry.key, to: &bytes)
            context.withString(entry) { KVDumpFormat.writeString($0, to: &bytes) }
        } else {
            let value = KVDumpCommands.value(of: entry, context)
            bytes.append(KVDumpFormat.typeByte(of: value))
            KVDumpFormat.writeString(entry.key, to: &bytes)
            KVDumpFormat.writeBody(of: value, to: &bytes)
        }
    }
}
