// DEBUG: the subcommands clients' and Redis's own tests use, answered for a
// server that keeps its data in memory only. Like redis-server's, DEBUG is
// a tool for tests and diagnosis, gated by a flag (--enable-debug-command:
// keel-kv's default lets local connections use it, redis-server's refuses
// everyone); SLEEP holds the loop, as it does in redis-server.
//
// - OBJECT key: the entry's address, its encoding, an estimate of its
//   serialized length (its value's bytes), no access time (keel-kv keeps
//   none); for lists the quicklist's node figures.
// - DIGEST, DIGEST-VALUE key...: KVDigest of the keyspace or of values.
// - SET-ACTIVE-EXPIRE 0|1: stops or restarts the loops' expiry cycle (keys
//   still expire when touched).
// - RELOAD: redis-server saves and reloads its dataset; keel-kv has no
//   persistence, so the dataset it would reload is the one it holds: OK.
// - SLEEP seconds, CHANGE-REPL-ID, QUICKLIST-PACKED-THRESHOLD
//   (keel-kv keeps large elements in packs: the threshold is read, checked
//   and changes nothing).

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
        if context.argument(1, is: "QUICKLIST-PACKED-THRESHOLD") && context.argumentCount == 3 {
            // redis-server's bounds: 0 (its default) up to 4 GiB less 1 MiB.
            guard let size = memoryValue(context[2]), size >= 0 && size <= (4 << 30) - (1 << 20) else {
                return context.reply.error("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
            }
            return context.reply.simpleString("OK")
        }
        // RELOAD takes redis-server's options (NOSAVE, NOFLUSH, MERGE): none
        // changes what there is to reload.
        if context.argument(1, is: "RELOAD")
            || (context.argumentCount == 2 && context.argument(1, is: "CHANGE-REPL-ID"))
        {
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
                "CHANGE-REPL-ID", "    keel-kv has no replication: does nothing.",
                "DIGEST", "    Output a hex signature representing the current DB content.",
                "DIGEST-VALUE <key> [<key> ...]", "    Output a hex signature of the values of all the specified keys.",
                "OBJECT <key>", "    Show low level info about the `key` and associated value.",
                "QUICKLIST-PACKED-THRESHOLD <size>",
                "    Accepted; keel-kv keeps large list elements in packs.",
                "RELOAD", "    keel-kv has no persistence: the dataset stays as it is.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not accessed.",
                "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
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

    /// An estimate of the bytes a dump of the value would take: its
    /// strings' bytes, and a length byte each.
    private static func serializedLength(_ context: KVContext, _ entry: KVEntry) -> Int {
        var total = 0
        forEachString(context, entry) { total += $0.count + 1 }
        return total
    }

    /// Calls `body` with each string a value holds (a hash's fields and
    /// values, a sorted set's members and scores as text).
    private static func forEachString(
        _ context: KVContext, _ entry: KVEntry, _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        switch entry.type {
        case .string:
            context.withString(entry) { body($0) }
        case .list:
            let list = context.list(entry)
            list.forEach(from: 0, through: list.count - 1) {
                body($0)
                return true
            }
        case .hash:
            KVHashValue(entry).forEachField { field, value in
                body(field)
                body(value)
                return true
            }
        case .set:
            KVSetValue(entry).forEachMember {
                body($0)
                return true
            }
        case .zset:
            let set = KVZSetValue(entry)
            set.forEachMember(ranks: 0, through: set.count - 1, reverse: false) { member, score in
                body(member)
                KVDouble.text(score).withUnsafeBytes { body($0) }
                return true
            }
        }
    }

    /// The digest of a value: what it holds, whatever its encoding.
    static func digest(of entry: KVEntry, _ context: KVContext) -> KVDigest {
        var digest = KVDigest.of([entry.type.rawValue])
        switch entry.type {
        case .string, .list:
            forEachString(context, entry) { digest.append(.of($0)) }
        case .set:
            var members = KVDigest.zero
            forEachString(context, entry) { members.combine(.of($0)) }
            digest.append(members)
        case .hash, .zset:
            // Pairs (field and value, member and score), in any order.
            var pairs = KVDigest.zero
            var first: KVDigest?
            forEachString(context, entry) { bytes in
                if let left = first {
                    var pair = left
                    pair.append(.of(bytes))
                    pairs.combine(pair)
                    first = nil
                } else {
                    first = .of(bytes)
                }
            }
            digest.append(pairs)
        }
        return digest
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
