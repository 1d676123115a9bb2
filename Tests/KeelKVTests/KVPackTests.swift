// KVPack and KVQuickList against plain arrays: random edits, elements of
// every length class (one-byte lengths, two, three), walks from both ends.

import Glibc
import KeelTestSupport
import Testing

@testable import KeelKV

@Suite struct KVPackTests {
    /// An element of a length drawn from every length class.
    static func element(_ random: inout SeededRandom) -> [UInt8] {
        let lengths = [0, 1, 5, 126, 127, 128, 300, 16_383, 16_384, 20_000]
        let length =
            Int.random(in: 0..<4, using: &random) == 0
            ? lengths.randomElement(using: &random)! : Int.random(in: 0..<40, using: &random)
        return (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
    }

    @Test func randomEditsMatchAnArray() {
        var random = SeededRandom(seed: 7)
        var pack = KVPack.make()!
        defer { pack.release() }
        var model: [[UInt8]] = []
        for _ in 0..<2_000 {
            switch Int.random(in: 0..<4, using: &random) {
            case 0, 1:
                let index = Int.random(in: 0...model.count, using: &random)
                let value = Self.element(&random)
                #expect(value.withUnsafeBytes { pack.insert([$0], at: pack.offset(ofIndex: index)) })
                model.insert(value, at: index)
            case 2 where !model.isEmpty:
                let index = Int.random(in: 0..<model.count, using: &random)
                let run = Int.random(in: 1...min(3, model.count - index), using: &random)
                pack.remove(at: pack.offset(ofIndex: index), elementCount: run)
                model.removeSubrange(index..<(index + run))
            case 3 where !model.isEmpty:
                let index = Int.random(in: 0..<model.count, using: &random)
                let value = Self.element(&random)
                #expect(value.withUnsafeBytes { pack.replace(at: pack.offset(ofIndex: index), with: $0) })
                model[index] = value
            default: break
            }
            // Keep the pack small enough that the walk stays cheap.
            if model.count > 60 {
                pack.remove(at: pack.startOffset, elementCount: 30)
                model.removeFirst(30)
            }
            pack.checkInvariants()
            #expect(pack.count == model.count)
        }
        #expect(pack.elements == model)
        // Backwards from the end, element by element.
        var backwards: [[UInt8]] = []
        if pack.count > 0 {
            var offset = pack.lastOffset
            while true {
                backwards.append(Array(pack.element(at: offset).bytes))
                if offset == pack.startOffset { break }
                offset = pack.offset(before: offset)
            }
        }
        #expect(backwards == model.reversed())
    }

    /// Redis's default node size, small counted nodes (as the Redis suite
    /// sets list-max-listpack-size 5), one element a node, 4 KiB packs.
    @Test(arguments: [KVQuickList.defaultFill, 5, 1, -1])
    func aQuickListMatchesAnArray(fill: Int32) {
        var random = SeededRandom(seed: 11)
        let list = KVQuickList(fill: fill)
        var model: [[UInt8]] = []
        for step in 0..<4_000 {
            let value = Self.element(&random)
            switch Int.random(in: 0..<8, using: &random) {
            case 0:
                #expect(value.withUnsafeBytes { list.push($0, front: true) })
                model.insert(value, at: 0)
            case 1, 2:
                #expect(value.withUnsafeBytes { list.push($0, front: false) })
                model.append(value)
            case 3:
                let popped = list.pop(front: step % 2 == 0) { Array($0) }
                let expected = model.isEmpty ? nil : (step % 2 == 0 ? model.removeFirst() : model.removeLast())
                #expect(popped == expected)
            case 4:
                let index = Int.random(in: 0...model.count, using: &random)
                #expect(value.withUnsafeBytes { list.insert($0, at: index) })
                model.insert(value, at: index)
            case 5 where !model.isEmpty:
                let index = Int.random(in: 0..<model.count, using: &random)
                #expect(value.withUnsafeBytes { list.set(index, to: $0) })
                model[index] = value
            case 6 where !model.isEmpty:
                let index = Int.random(in: 0..<model.count, using: &random)
                #expect(list.element(at: index) { Array($0) } == model[index])
            case 7 where model.count > 50:
                let start = Int.random(in: 0..<10, using: &random)
                let stop = model.count - 1 - Int.random(in: 0..<10, using: &random)
                list.trim(keepingFrom: start, through: stop)
                model = Array(model[start...stop])
            default: break
            }
            if step % 97 == 0 { list.checkInvariants() }
            #expect(list.count == model.count)
        }
        list.checkInvariants()
        var forwards: [[UInt8]] = []
        list.forEach(from: 0, through: list.count - 1) {
            forwards.append(Array($0))
            return true
        }
        #expect(forwards == model)
        var backwards: [[UInt8]] = []
        list.forEachReversed(from: list.count - 1, through: 0) {
            backwards.append(Array($0))
            return true
        }
        #expect(backwards == model.reversed())
        // A counted fill: no node holds more elements. (A byte fill may be
        // passed by one large element, or by LSET's in-place replacement.)
        var node = list.head
        while fill > 0, let current = node {
            #expect(KVQuickList.pack(current).count <= Int(fill))
            node = KVQuickList.next(current)
        }
    }

    @Test func trimmingAMillionElementListDropsWholeNodes() {
        let list = KVQuickList()
        for index in 0..<1_000_000 { _ = Array("e\(index)".utf8).withUnsafeBytes { list.push($0, front: false) } }
        list.trim(keepingFrom: 499_995, through: 500_004)
        list.checkInvariants()
        var kept: [String] = []
        list.forEach(from: 0, through: list.count - 1) {
            kept.append(String(decoding: $0, as: UTF8.self))
            return true
        }
        #expect(kept == (499_995...500_004).map { "e\($0)" })
        #expect(list.nodeCount <= 2)
    }

    /// A pack takes no element that would carry it past 1 GiB (Redis's
    /// listpack safety size), whatever the limits say: the collection then
    /// leaves its pack (the header's 32-bit sizes cannot overflow).
    @Test func aPackHasRoomOnlyWithinItsSafetySize() {
        var pack = KVPack.make()!
        defer { pack.release() }
        #expect(pack.hasRoom(for: 1_000) && pack.hasRoom(for: 1_000, 1_000))
        #expect(!pack.hasRoom(for: KVPack.safetyBytes))
        // A pack near the bound, by its header (only the header is read).
        _ = pack.append(UnsafeRawBufferPointer(start: nil, count: 0))
        pack.pointer.storeBytes(of: UInt32(KVPack.safetyBytes - 10), as: UInt32.self)
        #expect(pack.hasRoom(for: 5))
        #expect(!pack.hasRoom(for: 10))
        #expect(pack.hasRoom(for: 3, 3) && !pack.hasRoom(for: 4, 4))
        pack.pointer.storeBytes(of: UInt32(KVPack.headerBytes + 2), as: UInt32.self)
    }

    /// CONFIG SET takes redis-server 7.0's bounds for the pack limits (0 to
    /// LONG_MAX), and a huge limit still leaves small hashes packed.
    @Test func packLimitsTakeRedisBounds() {
        let kv = KVHarness()
        #expect(kv("CONFIG", "SET", "hash-max-listpack-value", "9223372036854775807") == "+OK\r\n")
        #expect(kv("CONFIG", "SET", "hash-max-listpack-entries", "9223372036854775807") == "+OK\r\n")
        #expect(
            kv("CONFIG", "SET", "hash-max-listpack-entries", "9223372036854775808")
                == "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument couldn't be parsed into an integer\r\n"
        )
        kv("HSET", "h", "f", String(repeating: "v", count: 100_000))
        #expect(kv("OBJECT", "ENCODING", "h") == "$8\r\nlistpack\r\n")
        #expect(
            kv("CONFIG", "SET", "hz", "5", "hz", "6")
                == "-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n")
    }
}
