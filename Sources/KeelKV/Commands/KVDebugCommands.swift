// DEBUG: the subcommands clients' and Redis's own tests use, answered for a
// server that keeps its data in memory only. Like redis-server's, DEBUG is
// a tool for tests and diagnosis, gated by a flag (--enable-debug-command:
// keel-kv's default lets local connections use it, redis-server's refuses
// everyone); SLEEP holds the loop, as it does in redis-server.
//
// - OBJECT key: the entry's address, its encoding, its serialized length
//   (DUMP's encoding of it), no access time (keel-kv keeps none); for
//   lists the quicklist's node figures.
// - DIGEST, DIGEST-VALUE key...: KVDigest of the keyspace or of values.
// - SET-ACTIVE-EXPIRE 0|1: stops or restarts the loops' expiry cycle (keys
//   still expire when touched).
// - PAUSE-CRON 0|1: stops or restarts the loops' background work (expiry
//   cycle, table resizing, tracking's trim to its limit).
// - RELOAD: redis-server saves and reloads its dataset; keel-kv has no
//   persistence, so the dataset it would reload is the one it holds: OK.
// - CHANGE-REPL-ID: a new replication id (replicas attached keep theirs
//   until they resynchronise, which is always in full).
// - SLEEP seconds, QUICKLIST-PACKED-THRESHOLD (keel-kv keeps large
//   elements in packs: the threshold is read, checked and changes nothing).

import Glibc
import KeelWire

/// Who may run DEBUG, as redis-server's enable-debug-command.
public enum KVDebugAccess: String, Sendable, CaseIterable {
    case no
    case yes
    case local
}

enum KVDebugCommands {
    static func debug(_ context: KVContext) {
        guard allowed(context) else {
            return context.reply.error(
                "ERR DEBUG command not allowed. Start keel-kv with --enable-debug-command yes, or local and connect from this host."
            )
        }
        if context.argument(1, is: "HELP") && context.argumentCount == 2 { return help(context) }
        if context.argument(1, is: "OBJECT") && context.argumentCount == 3 { return object(context) }
        if context.argument(1, is: "DIGEST") && context.argumentCount == 2 { return digest(context) }
        if context.argument(1, is: "DIGEST-VALUE") { return digestValues(context) }
        if context.argument(1, is: "SET-ACTIVE-EXPIRE") && context.argumentCount == 3 {
            context.store.settings.activeExpiry.store(
                (context.command.integer(at: 2) ?? 0) != 0, ordering: .relaxed)
            return context.reply.simpleString("OK")
        }
        if context.argument(1, is: "SLEEP") && context.argumentCount == 3 { return sleep(context) }
        if context.argument(1, is: "PAUSE-CRON") && context.argumentCount == 3 {
            context.store.settings.cronPaused.store((context.command.integer(at: 2) ?? 0) != 0, ordering: .relaxed)
            return context.reply.simpleString("OK")
        }
        if context.argument(1, is: "QUICKLIST-PACKED-THRESHOLD") && context.argumentCount == 3 {
            // redis-server's bounds: 0 (its default) up to 4 GiB less 1 MiB.
            guard let size = memoryValue(context[2]), size >= 0 && size <= (4 << 30) - (1 << 20) else {
                return context.reply.error("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
            }
            return context.reply.simpleString("OK")
        }
        // RELOAD takes redis-server's options (NOSAVE, NOFLUSH, MERGE): none
        // changes what there is to reload.
        if context.argument(1, is: "RELOAD") { return context.reply.simpleString("OK") }
        if context.argumentCount == 2 && context.argument(1, is: "CHANGE-REPL-ID") {
            context.store.replication.changeID()
            return context.reply.simpleString("OK")
        }
        context.subcommandSyntaxError("DEBUG")
    }

    /// Whether this connection may run DEBUG.
    private static func allowed(_ context: KVContext) -> Bool {
        switch context.store.settings.debugAccess {
        case .yes: return true
        case .no: return false
        case .local:
            let address = context.session.record.address
            return address.hasPrefix("127.") || address.hasPrefix("[::1]") || address.hasPrefix("::1")
                || !address.contains(":")
        }
    }

    private static func help(_ context: KVContext) {
        KVServerCommands.help(
            context,
            [
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANGE-REPL-ID", "    Change the replication IDs of the instance.",
                "DIGEST", "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]", "    Output a hex signature of the values of all the specified keys.",
                "OBJECT <key>", "    Show low level info about the `key` and associated value.",
                "QUICKLIST-PACKED-THRESHOLD <size>",
                "    Accepted; keel-kv keeps large list elements in packs.",
                "RELOAD", "    keel-kv has no persistence: the dataset stays as it is.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not accessed.",
                "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
                "PAUSE-CRON <0|1>", "    Stop periodic cron job processing.",
                "HELP", "    Prints this help.",
            ])
    }

    /// DEBUG OBJECT key.
    private static func object(_ context: KVContext) {
        guard let found = context.find(context[2]) else { return context.reply.error("ERR no such key") }
        let entry = found.entry
        let address = entry.type == .string ? entry.pointer : entry.object
        var text =
            "Value at:0x\(String(UInt(bitPattern: address), radix: 16)) refcount:1 encoding:\(KVObjects.encodingName(entry)) serializedlength:\(serializedLength(context, entry)) lru:0 lru_seconds_idle:0"
        if entry.type == .list {
            let list = context.list(entry)
            var bytes = 0
            var node = list.head
            while let current = node {
                bytes += KVQuickList.pack(current).bytesUsed
                node = KVQuickList.next(current)
            }
            let average = list.nodeCount > 0 ? Double(list.count) / Double(list.nodeCount) : 0
            let averageText = String(Int(average)) + "." + String(Int(average * 100) % 100 + 100).dropFirst()
            text +=
                " ql_nodes:\(list.nodeCount) ql_avg_node:\(averageText) ql_listpack_max:\(list.fill) ql_compressed:0 ql_uncompressed_size:\(bytes)"
        }
        Array(text.utf8).withUnsafeBytes { context.reply.simpleString($0) }
    }

    /// The bytes the value takes in DUMP's RDB encoding (its payload less
    /// the type byte, version and CRC), as redis-server's serializedlength
    /// counts its own encoding.
    private static func serializedLength(_ context: KVContext, _ entry: KVEntry) -> Int {
        KVDumpFormat.payload(KVDumpCommands.value(of: entry, context)).count - 11
    }

    /// The digest of a value: what it holds, whatever its encoding (read
    /// as DUMP reads it).
    static func digest(of entry: KVEntry, _ context: KVContext) -> KVDigest {
        var digest = KVDigest.of([entry.type.rawValue])
        switch KVDumpCommands.value(of: entry, context) {
        case .string(let bytes):
            digest.append(.of(bytes))
        case .list(let elements):
            for element in elements { digest.append(.of(element)) }
        case .set(let members):
            var all = KVDigest.zero
            for member in members { all.combine(.of(member)) }
            digest.append(all)
        case .hash(let fieldsAndValues):
            digest.append(
                pairs(
                    stride(from: 0, to: fieldsAndValues.count, by: 2).map {
                        (fieldsAndValues[$0], fieldsAndValues[$0 + 1])
                    }))
        case .zset(let members):
            digest.append(pairs(members.map { ($0.0, KVDouble.text($0.1)) }))
        }
        return digest
    }

    /// Pairs (field and value, member and score), in any order.
    private static func pairs(_ pairs: [([UInt8], [UInt8])]) -> KVDigest {
        var all = KVDigest.zero
        for (left, right) in pairs {
            var pair = KVDigest.of(left)
            pair.append(.of(right))
            all.combine(pair)
        }
        return all
    }

    /// DEBUG DIGEST: every key, its value and its expiry; zeros when empty.
    private static func digest(_ context: KVContext) {
        var total = KVDigest.zero
        for shard in context.store.shards {
            shard.forEachEntry { entry in
                var one = KVDigest.of(entry.key)
                one.append(digest(of: entry, context))
                if let expireAtMs = entry.expireAtMs { one.append(.of(KVInteger.text(expireAtMs))) }
                total.combine(one)
            }
        }
        total.hex.withUnsafeBytes { context.reply.simpleString($0) }
    }

    /// DEBUG DIGEST-VALUE key...: each value's digest (zeros when missing).
    private static func digestValues(_ context: KVContext) {
        context.reply.arrayHeader(context.argumentCount - 2)
        for index in 2..<context.argumentCount {
            let value: KVDigest = context.find(context[index]).map { digest(of: $0.entry, context) } ?? KVDigest.zero
            value.hex.withUnsafeBytes { context.reply.simpleString($0) }
        }
    }

    /// DEBUG SLEEP seconds (fractions allowed): the loop stops that long.
    private static func sleep(_ context: KVContext) {
        let seconds = KVDouble.parse(context[2]) ?? 0
        if seconds > 0 {
            let nanoseconds = Int(min(seconds, 3_600) * 1e9)
            var request = timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
            var remaining = timespec()
            while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
        }
        context.reply.simpleString("OK")
    }

    /// A memory amount as redis-server reads one: digits and an optional
    /// unit (b, k, kb, m, mb, g, gb; any case). Nil when it is not one.
    static func memoryValue(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let text = String(decoding: bytes, as: UTF8.self).lowercased()
        let units: [(String, Int64)] = [
            ("gb", 1 << 30), ("g", 1_000_000_000), ("mb", 1 << 20), ("m", 1_000_000), ("kb", 1 << 10), ("k", 1_000),
            ("b", 1),
        ]
        var digits = Substring(text)
        var multiplier: Int64 = 1
        for (suffix, value) in units where text.hasSuffix(suffix) {
            digits = digits.dropLast(suffix.count)
            multiplier = value
            break
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isNumber), let number = Int64(digits) else { return nil }
        let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }
}
