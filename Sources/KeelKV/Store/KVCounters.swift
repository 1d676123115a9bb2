// KVCounters: what INFO's stats section reports. Counts made per command
// (commands processed, keyspace hits and misses) are each loop's own
// (KVLoopCounters: written only by their loop, with a plain load and store,
// no read-modify-write shared between cores) and summed when INFO asks;
// rarer events are shared relaxed atomics. CONFIG RESETSTAT does not
// write any of them: it records what they are (KVStatistics), and INFO
// reports the difference.

import KeelPosix
import Synchronization

/// One loop's per-command counts (see the file header).
final class KVLoopCounters: Sendable {
    let commandsProcessed = Atomic<Int>(0)
    let keyspaceHits = Atomic<Int>(0)
    let keyspaceMisses = Atomic<Int>(0)
    /// Error replies: each loop's own lock, so that a flood of errors on
    /// one loop (a client without AUTH) does not make the others wait.
    let errors = Locked(KVErrorCounts())
    /// INFO commandstats.
    let commands = KVCommandStats()

    /// Adds one to `counter`; only the owning loop writes it.
    @inline(__always)
    static func bump(_ counter: borrowing Atomic<Int>) {
        counter.store(counter.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }
}

/// Error replies, by their code (INFO's errorstats and total_error_replies).
struct KVErrorCounts: Sendable {
    /// Codes counted at most; later new codes count only in the total, as
    /// redis-server stops adding errorstats past 128.
    static let codeLimit = 128

    private(set) var total = 0
    private(set) var byCode: [String: Int] = [:]

    /// Adds another loop's counts (codes past the limit count only in the total).
    mutating func add(_ other: KVErrorCounts) {
        total += other.total
        for (code, count) in other.byCode where byCode[code] != nil || byCode.count < Self.codeLimit {
            byCode[code, default: 0] += count
        }
    }

    /// Counts one error reply whose message is `message` ("ERR ...").
    mutating func count(_ message: UnsafeRawBufferPointer) {
        total += 1
        // The code ends at a space within the first 32 bytes; without one
        // the error counts as ERR, as redis-server 7.0 files it.
        let head = message.prefix(32)
        let code = head.firstIndex(of: 0x20).map { String(decoding: head[..<$0], as: UTF8.self) } ?? "ERR"
        if byCode[code] != nil || byCode.count < Self.codeLimit { byCode[code, default: 0] += 1 }
    }
}

/// Counters shared by the loops (see the file header).
final class KVCounters: Sendable {
    let connectionsReceived = Atomic<Int>(0)
    let authFailures = Atomic<Int>(0)
    private let loops = Locked<[KVLoopCounters]>([])
    /// The counts at the last CONFIG RESETSTAT.
    let baseline = Locked(KVStatistics())

    init() {}

    /// A new loop's counters, counted in the totals from now on.
    func register() -> KVLoopCounters {
        let counters = KVLoopCounters()
        loops.withLock { $0.append(counters) }
        return counters
    }

    private func total(_ read: (KVLoopCounters) -> Int) -> Int {
        loops.withLock { $0.reduce(0) { $0 + read($1) } }
    }

    var commandsProcessed: Int { total { $0.commandsProcessed.load(ordering: .relaxed) } }
    var keyspaceHits: Int { total { $0.keyspaceHits.load(ordering: .relaxed) } }
    var keyspaceMisses: Int { total { $0.keyspaceMisses.load(ordering: .relaxed) } }

    /// Every loop's error counts together.
    var errors: KVErrorCounts {
        loops.withLock { loops in
            loops.reduce(into: KVErrorCounts()) { total, loop in loop.errors.withLock { total.add($0) } }
        }
    }

    /// CONFIG RESETSTAT: every loop's error and command counts from zero.
    func resetErrors() {
        loops.withLock { loops in
            for loop in loops {
                loop.errors.withLock { $0 = KVErrorCounts() }
                loop.commands.reset()
            }
        }
    }

    /// `count` of `spec`, over every loop.
    func commandCount(_ count: KVCommandStats.Count, _ spec: KVCommandSpec) -> Int {
        total { $0.commands.value(count, spec) }
    }
}

/// What the server under the store counted (Keel's statistics), as INFO
/// reports it.
public struct KVServerTotals: Sendable {
    /// Bytes read from clients.
    public var bytesIn = 0
    /// Bytes written to clients.
    public var bytesOut = 0
    /// Connections turned away at the client limit.
    public var rejectedConnections = 0

    /// Totals as counted (zero for none).
    public init(bytesIn: Int = 0, bytesOut: Int = 0, rejectedConnections: Int = 0) {
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.rejectedConnections = rejectedConnections
    }
}

/// INFO's stats section as counts since the start: CONFIG RESETSTAT keeps
/// one as its baseline, and INFO subtracts it.
struct KVStatistics: Sendable {
    var connectionsReceived = 0
    var commandsProcessed = 0
    var syncFull = 0
    var syncPartialOK = 0
    var syncPartialError = 0
    var expiredKeys = 0
    var evictedKeys = 0
    var keyspaceHits = 0
    var keyspaceMisses = 0
    var authFailures = 0
    var netInputBytes = 0
    var netOutputBytes = 0
    var rejectedConnections = 0

    /// Each count less `baseline`'s.
    func since(_ baseline: KVStatistics) -> KVStatistics {
        KVStatistics(
            connectionsReceived: connectionsReceived - baseline.connectionsReceived,
            commandsProcessed: commandsProcessed - baseline.commandsProcessed, syncFull: syncFull - baseline.syncFull,
            syncPartialOK: syncPartialOK - baseline.syncPartialOK,
            syncPartialError: syncPartialError - baseline.syncPartialError,
            expiredKeys: expiredKeys - baseline.expiredKeys, evictedKeys: evictedKeys - baseline.evictedKeys,
            keyspaceHits: keyspaceHits - baseline.keyspaceHits,
            keyspaceMisses: keyspaceMisses - baseline.keyspaceMisses,
            authFailures: authFailures - baseline.authFailures, netInputBytes: netInputBytes - baseline.netInputBytes,
            netOutputBytes: netOutputBytes - baseline.netOutputBytes,
            rejectedConnections: rejectedConnections - baseline.rejectedConnections)
    }
}
