// The command layer's fuzzing property, shared by the libFuzzer target
// (fuzz/KVCommandsFuzz.swift, coverage-guided, under ASan) and by the test
// that replays its kept corpus and reproducers on every `swift test`.
//
// An input is a script, one command per line, arguments split at single
// spaces (so empty arguments and any other byte are allowed), run through a
// KVHarness as clients would send them. Lines starting with `@` steer:
//   @shared     (first line only) the store of `--threads`: 64 locked shards
//   @0 .. @3    later commands come from that client (opened when first used)
//   @+N         the clock moves N ms (at most 10^10) and the loop ticks
//   @close      the current client disconnects and another takes its place
// Property: every command that does not block gets exactly its RESP
// reply(s), well formed; what other clients are sent (pub/sub, served
// blocked pops, kills) is well formed too; the store keeps its invariants
// (each shard's table and expiry index, every collection's structure, no
// empty collection), DBSIZE counts the entries the tables hold, and once the
// clock passes every TTL, ticks leave no expired key behind. A crash, a
// precondition or an ASan report is a failure too.

import KeelWire

@testable import KeelKV

enum KVFuzzCheck {
    /// Scripts are cut here: enough for any state, few enough to stay fast.
    static let maxCommands = 256
    /// Integers past this (and short of the overflow edges) are skipped:
    /// they ask for large work (SETRANGE's offset, SRANDMEMBER's count)
    /// that is legitimate and slow, not a bug.
    static let largestCount: Int64 = 100_000

    /// Runs one script; returns a description of the first failure, or nil.
    static func run(_ data: [UInt8]) -> String? {
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: true)
        let shared = lines.first.map { Array($0) == Array("@shared".utf8) } ?? false
        if shared { lines.removeFirst() }
        let kv = KVHarness(loops: shared ? 2 : 1)
        // Random picks (SPOP, RANDOMKEY, ...) the same on every replay.
        kv.loop.context.random = KVRandom(seed: 1)
        var clients = [kv.session]
        var current = 0
        var commands = 0
        for line in lines {
            if line.first == UInt8(ascii: "@") {
                steer(Array(line.dropFirst()), kv, &clients, &current)
                if let failure = deliveries(kv) { return failure }
                continue
            }
            let arguments = line.split(separator: 0x20, omittingEmptySubsequences: false).map { Array($0) }
            guard admits(arguments) else { continue }
            commands += 1
            guard commands <= maxCommands else { break }
            if clients[current].isHeld {
                // A blocked (or walking) client holds what it is sent; one
                // that gives up disconnects, and its wait must be forgotten.
                kv.close(clients[current])
                clients[current] = kv.openClient()
            }
            let client = clients[current]
            kv.use(client)
            let wasReplica = client.isReplica
            let reply = kv.run(arguments)
            if let failure = replyProblem(reply, of: client, wasReplica: wasReplica) {
                return "\(text(arguments)) \(failure)"
            }
            if client.isReplica {
                // SYNC made it a replica: it is done as a scripted client.
                kv.close(client)
                clients[current] = kv.openClient()
            }
            if let failure = deliveries(kv) { return failure }
        }
        let failure = audit(kv, clients: clients)
        // Memory handed to the background freer (FLUSHALL ASYNC, UNLINK) is
        // freed before the next input, so a leak check sees it gone.
        KVLazyFree.shared.drain()
        return failure
    }

    /// Applies one `@` line (see the file header).
    private static func steer(_ words: [UInt8], _ kv: KVHarness, _ clients: inout [KVSession], _ current: inout Int) {
        if words.count == 1, let digit = words.first, digit >= 0x30 && digit <= 0x33 {
            current = Int(digit - 0x30)
            while clients.count <= current { clients.append(kv.openClient()) }
        } else if words.first == UInt8(ascii: "+") {
            var milliseconds: Int64 = 0
            for byte in words.dropFirst().prefix(10) where byte >= 0x30 && byte <= 0x39 {
                milliseconds = milliseconds * 10 + Int64(byte - 0x30)
            }
            kv.clock.advance(by: milliseconds)
            kv.tick()
        } else if words == Array("close".utf8) {
            kv.close(clients[current])
            clients[current] = kv.openClient()
        }
    }

    /// Whether a command is run: not DEBUG or SHUTDOWN (they stop the
    /// process), PFSELFTEST (ten million elements), CLIENT PAUSE (every
    /// later write would wait: the rest of a run would test nothing), no
    /// integer argument asking for large work.
    static func admits(_ arguments: [[UInt8]]) -> Bool {
        guard let name = arguments.first else { return false }
        let lowered = name.map { $0 | 0x20 }
        if ["debug", "shutdown", "pfselftest"].contains(where: { lowered == Array($0.utf8) }) { return false }
        if lowered == Array("client".utf8) && arguments.count > 1
            && arguments[1].map({ $0 | 0x20 }) == Array("pause".utf8)
        {
            return false
        }
        for argument in arguments.dropFirst() {
            guard let magnitude = integerMagnitude(argument) else { continue }
            if magnitude > UInt64(largestCount) && magnitude < UInt64(1) << 62 { return false }
        }
        return true
    }

    /// The magnitude of a decimal integer (an optional sign, then digits,
    /// saturating), or nil for anything else.
    private static func integerMagnitude(_ bytes: [UInt8]) -> UInt64? {
        var digits = bytes[...]
        if digits.first == UInt8(ascii: "-") || digits.first == UInt8(ascii: "+") { digits = digits.dropFirst() }
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            value = overflow ? UInt64.max : times.addingReportingOverflow(UInt64(byte - 0x30)).partialValue
        }
        return value
    }

    /// What is wrong with a command's reply, or nil: one well-formed RESP
    /// value (a held client's comes later); a replica gets its snapshot
    /// (SYNC, PSYNC) and then nothing.
    static func replyProblem(_ reply: [UInt8], of client: KVSession, wasReplica: Bool) -> String? {
        if wasReplica { return reply.isEmpty ? nil : "replied to a replica: \(shown(reply))" }
        if client.isReplica {
            // A snapshot not done within SYNC's first slice comes later.
            if reply.isEmpty && client.replicaSync != nil { return nil }
            return RESPValidator.isSnapshotReply(reply) ? nil : "made a replica with \(shown(reply))"
        }
        if !client.isHeld && !RESPValidator.isOneValue(reply) { return "replied \(shown(reply))" }
        return nil
    }

    /// What was sent to other clients must be whole RESP values.
    private static func deliveries(_ kv: KVHarness) -> String? {
        defer { kv.loop.deliveredWithoutLoop.removeAll() }
        for (client, bytes) in kv.loop.deliveredWithoutLoop where !RESPValidator.isOneValue(bytes) {
            return "client \(client.slot) was sent \(shown(bytes))"
        }
        return nil
    }

    /// The store after the script, then after every TTL has passed.
    private static func audit(_ kv: KVHarness, clients: [KVSession]) -> String? {
        if let problem = kv.auditStore() { return problem }
        if let problem = countsAgree(kv) { return problem }
        for client in clients { kv.close(client) }
        kv.clock.advance(by: 20_000_000_000)
        var ticks = 0
        while expiredKeys(kv) > 0 && ticks < 1_000 {
            kv.tick()
            ticks += 1
        }
        let left = expiredKeys(kv)
        if left > 0 { return "\(left) expired keys still held after \(ticks) ticks" }
        return kv.auditStore() ?? countsAgree(kv)
    }

    /// DBSIZE, asked by a fresh client, against the entries the tables hold.
    private static func countsAgree(_ kv: KVHarness) -> String? {
        var entries = 0
        for shard in kv.store.shards { shard.forEachEntry { _ in entries += 1 } }
        let client = kv.openClient()
        client.authenticated = true
        kv.use(client)
        let reply = kv("DBSIZE")
        return reply == ":\(entries)\r\n" ? nil : "DBSIZE replied \(reply.debugDescription), the tables hold \(entries)"
    }

    private static func expiredKeys(_ kv: KVHarness) -> Int {
        let now = kv.store.clock.nowMs
        var expired = 0
        for shard in kv.store.shards {
            shard.forEachEntry { entry in
                if let at = entry.expireAtMs, at <= now { expired += 1 }
            }
        }
        return expired
    }

    private static func shown(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription
    }

    private static func text(_ arguments: [[UInt8]]) -> String {
        arguments.map { String(decoding: $0, as: UTF8.self).debugDescription }.joined(separator: " ")
    }
}
