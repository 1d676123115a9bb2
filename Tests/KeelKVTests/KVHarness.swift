// KVHarness: keel-kv's commands run directly, without a socket: a store on
// a clock the test moves, a loop's executor, sessions of its own. Replies
// come back as the bytes a client would read.

import KeelWire
import Logging
import Synchronization

@testable import KeelKV

/// A clock a test sets by hand.
final class ManualClock: Sendable {
    let milliseconds = Atomic<Int64>(1_700_000_000_000)

    var kvClock: KVClock { KVClock { [self] in milliseconds.load(ordering: .relaxed) } }

    func advance(by delta: Int64) {
        milliseconds.add(delta, ordering: .relaxed)
    }
}

/// Runs commands against one store (see the file header).
final class KVHarness {
    let clock: ManualClock
    let store: KVStore
    let loop: KVLoop
    private var nextSlot: UInt32 = 0
    private(set) var session: KVSession

    /// `memoryReading`: what eviction sees as the memory in use, in place
    /// of the process-wide count (which every test's store adds to).
    init(loops: Int = 1, settings: KVSettings = KVSettings(), memoryReading: (@Sendable () -> Int)? = nil) {
        clock = ManualClock()
        store = KVStore(loops: loops, clock: clock.kvClock, settings: settings, memoryReading: memoryReading)
        loopIndex = 0
        // Quiet: fuzzed scripts fail AUTH by the thousand.
        loop = KVLoop(store: store, logger: Logger(label: "keel-kv", factory: { _ in SwiftLogNoOpLogHandler() }))
        session = KVHarness.openSession(loop: loop, slot: 0)
        nextSlot = 1
    }

    /// Another loop over `other`'s store (its index `loopIndex`), to run
    /// on a thread of its own beside it.
    init(sharing other: KVHarness, loopIndex: UInt32) {
        clock = other.clock
        store = other.store
        loop = KVLoop(store: store, logger: Logger(label: "keel-kv", factory: { _ in SwiftLogNoOpLogHandler() }))
        session = KVHarness.openSession(loop: loop, slot: 0, loopIndex: loopIndex)
        self.loopIndex = loopIndex
        nextSlot = 1
    }

    private let loopIndex: UInt32

    private static func openSession(loop: KVLoop, slot: UInt32, loopIndex: UInt32 = 0) -> KVSession {
        let session = KVSession(
            id: loop.store.clientIDs.next(), client: KVClientRef(loop: loopIndex, slot: slot, generation: 1),
            address: "127.0.0.1:\(40_000 + slot)", authenticated: !loop.store.settings.requiresPassword,
            nowMs: loop.store.clock.nowMs)
        loop.open(session)
        return session
    }

    /// A second client of the same store; commands go to it until `use` switches back.
    func openClient() -> KVSession {
        defer { nextSlot += 1 }
        return Self.openSession(loop: loop, slot: nextSlot, loopIndex: loopIndex)
    }

    /// Commands from now on come from `session`.
    func use(_ session: KVSession) {
        self.session = session
    }

    /// Runs one command; returns its reply's bytes.
    @discardableResult
    func run(_ arguments: [[UInt8]]) -> [UInt8] {
        precondition(!arguments.isEmpty)
        let storage = arguments.map { argument -> UnsafeMutableRawBufferPointer in
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(argument.count, 1), alignment: 1)
            copy.copyBytes(from: argument)
            return copy
        }
        defer {
            for copy in storage { copy.deallocate() }
        }
        let pointers = UnsafeMutablePointer<RESPArgument>.allocate(capacity: arguments.count)
        defer { pointers.deallocate() }
        for (index, argument) in arguments.enumerated() {
            pointers[index] = RESPArgument(start: UnsafeRawPointer(storage[index].baseAddress), count: argument.count)
        }
        let command = RESPCommand(copiedArguments: pointers, count: arguments.count)
        return loop.run(command, session: session)
    }

    /// Runs one command given as words; returns the reply as text.
    @discardableResult
    func callAsFunction(_ words: String...) -> String {
        String(decoding: run(words.map { Array($0.utf8) }), as: UTF8.self)
    }

    /// Runs one command given as byte strings; returns the reply as text.
    @discardableResult
    func callAsFunction(bytes arguments: [UInt8]...) -> String {
        String(decoding: run(arguments), as: UTF8.self)
    }

    /// What other clients were sent since the last call, as text, by client.
    func delivered() -> [(client: KVClientRef, text: String)] {
        defer { loop.deliveredWithoutLoop.removeAll() }
        return loop.deliveredWithoutLoop.map { ($0.client, String(decoding: $0.bytes, as: UTF8.self)) }
    }

    /// Ends `session` as a closed connection does.
    func close(_ session: KVSession) {
        loop.end(session.client)
    }

    /// One tick of the loop's background work.
    func tick() {
        loop.tick()
    }

    /// Every shard's invariants.
    func checkInvariants() {
        for shard in store.shards { shard.checkInvariants() }
    }

    /// Checks the whole store: each shard's invariants and every
    /// collection's structure (a broken one stops at a precondition); the
    /// first collection kept empty, or nil.
    func auditStore() -> String? {
        checkInvariants()
        var problem: String?
        for shard in store.shards {
            shard.forEachEntry { entry in
                guard problem == nil else { return }
                let count: Int
                switch (entry.type, entry.encoding) {
                case (.string, _): return
                case (.list, _):
                    let list = KVObjects.object(entry.object, as: KVQuickList.self)
                    list.checkInvariants()
                    count = list.count
                case (.hash, .general), (.set, .general):
                    let table = KVObjects.object(entry.object, as: KVFieldTable.self)
                    table.checkInvariants()
                    count = table.count
                case (.zset, .general):
                    let set = KVObjects.object(entry.object, as: KVSortedSet.self)
                    set.checkInvariants()
                    count = set.count
                case (.set, .integer):
                    let set = KVIntSet(entry.object)
                    set.checkInvariants()
                    count = set.count
                default:
                    let pack = KVPack(entry.object)
                    pack.checkInvariants()
                    count = pack.count
                }
                if count == 0 {
                    problem = "an empty \(entry.type) is kept under \(String(decoding: entry.key, as: UTF8.self))"
                }
            }
        }
        return problem
    }
}

/// A RESP2 bulk string reply.
func bulk(_ text: String) -> String { "$\(text.utf8.count)\r\n\(text)\r\n" }

/// A RESP2 array of bulk strings.
func bulks(_ texts: String...) -> String { "*\(texts.count)\r\n" + texts.map(bulk).joined() }

/// A RESP2 integer reply.
func int(_ value: Int) -> String { ":\(value)\r\n" }

let ok = "+OK\r\n"
let nullBulk = "$-1\r\n"
