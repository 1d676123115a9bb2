// KVHyperLogLog: a HyperLogLog (PFADD, PFCOUNT, PFMERGE) held in a string,
// in redis-server's own layout, so a value moves between the two servers
// (DUMP, RESTORE, replication) and GET shows the same bytes:
//
//   "HYLL", an encoding byte (0 dense, 1 sparse), 3 unused bytes, then the
//   cached cardinality as 8 little-endian bytes, whose top bit set means
//   "not cached" (16 bytes in all); then the 16,384 registers of 6 bits.
//
// Dense: the registers packed 6 bits each, low bits first (12,288 bytes).
// Sparse: runs, as one-byte or two-byte opcodes: 00xxxxxx is 1-64 zero
// registers, 01xxxxxx yyyyyyyy is 1-16,384 zero registers, 1vvvvvxx is 1-4
// registers holding 1-32. A new HyperLogLog is sparse; it turns dense when a
// register needs more than 32, or when the sparse form would pass
// hll-sparse-max-bytes (3,000 by default).
//
// An element's hash is MurmurHash64A (seed 0xadc83b19): its low 14 bits
// pick the register, the run of zero bits above them (plus one) is the
// candidate value. The estimate is Ertl's ("New cardinality estimation
// algorithms for HyperLogLog sketches", 2017) from the registers' histogram,
// as redis-server computes it. Sparse strings arrive from clients (SETRANGE,
// RESTORE): every walk checks its runs stay within the 16,384 registers.

import Foundation

/// HyperLogLog strings (see the file header).
enum KVHyperLogLog {
    static let headerSize = 16
    static let registerCount = 1 << 14
    static let registerMax: UInt8 = 63
    static let denseSize = headerSize + registerCount * 6 / 8
    static let dense: UInt8 = 0
    static let sparse: UInt8 = 1
    /// The most a sparse run of values may hold, and its longest runs.
    static let sparseValueMax: UInt8 = 32
    static let sparseValueRunMax = 4
    static let sparseZeroRunMax = 64
    static let sparseLongZeroRunMax = 1 << 14

    // MARK: the string

    /// Whether `bytes` is a HyperLogLog string: the magic, a known
    /// encoding, and a dense one's exact length (the rest is checked as it
    /// is walked).
    static func isHyperLogLog(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= headerSize, bytes[0] == 0x48, bytes[1] == 0x59, bytes[2] == 0x4C, bytes[3] == 0x4C
        else { return false }
        return bytes[4] == sparse || (bytes[4] == dense && bytes.count == denseSize)
    }

    /// A new, empty HyperLogLog: sparse, one long zero run, its
    /// cardinality (0) cached.
    static func empty() -> [UInt8] {
        var bytes: [UInt8] = [0x48, 0x59, 0x4C, 0x4C, sparse] + [UInt8](repeating: 0, count: 11)
        appendZeroRun(registerCount, to: &bytes)
        return bytes
    }

    /// The cached cardinality, if it is valid.
    static func cachedCardinality(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes[15] & 0x80 == 0 else { return nil }
        var value: UInt64 = 0
        for index in (8..<16).reversed() { value = value << 8 | UInt64(bytes[index]) }
        return value
    }

    static func cache(_ cardinality: UInt64, in bytes: inout [UInt8]) {
        for index in 0..<8 { bytes[8 + index] = UInt8(truncatingIfNeeded: cardinality >> (8 * index)) }
    }

    static func invalidateCache(_ bytes: inout [UInt8]) {
        bytes[15] |= 0x80
    }

    // MARK: adding

    /// The register an element falls in and the value it offers there.
    static func position(of element: UnsafeRawBufferPointer) -> (index: Int, count: UInt8) {
        var hash = murmurHash64A(element, seed: 0xadc8_3b19)
        let index = Int(hash & UInt64(registerCount - 1))
        hash >>= 14
        // A bit above the 50 used ends the run for an all-zero hash.
        hash |= 1 << 50
        return (index, UInt8(hash.trailingZeroBitCount + 1))
    }

    /// Adds `element`: 1 if a register grew, 0 if none did, nil if the
    /// string is corrupt.
    static func add(_ element: UnsafeRawBufferPointer, to bytes: inout [UInt8], sparseMaxBytes: Int) -> Int? {
        let (index, count) = position(of: element)
        return set(index, atLeast: count, in: &bytes, sparseMaxBytes: sparseMaxBytes)
    }

    /// Raises register `index` to `count` if it is lower: 1 if it grew, 0
    /// if not, nil if the string is corrupt. A sparse string may turn dense.
    static func set(_ index: Int, atLeast count: UInt8, in bytes: inout [UInt8], sparseMaxBytes: Int) -> Int? {
        if bytes[4] == dense {
            guard denseRegister(bytes, index) < count else { return 0 }
            setDenseRegister(&bytes, index, count)
            return 1
        }
        return sparseSet(index, atLeast: count, in: &bytes, sparseMaxBytes: sparseMaxBytes)
    }

    private static func sparseSet(_ index: Int, atLeast count: UInt8, in bytes: inout [UInt8], sparseMaxBytes: Int)
        -> Int?
    {
        guard count <= sparseValueMax else { return promote(&bytes, index, count) }
        // The opcode that covers `index`, where it starts, and the one before.
        var position = headerSize
        var first = 0
        var previous: Int?
        var span = 0
        while position < bytes.count {
            span = runLength(bytes, at: position)
            if index < first + span { break }
            previous = position
            position += opcodeSize(bytes[position])
            first += span
        }
        guard span > 0, position < bytes.count, position + opcodeSize(bytes[position]) <= bytes.count else {
            return nil
        }
        let opcode = bytes[position]
        let isValue = opcode & 0x80 != 0
        if isValue {
            let current = (opcode >> 2 & 0x1F) + 1
            if current >= count { return 0 }
            if span == 1 {
                bytes[position] = valueOpcode(count, 1)
                mergeValues(in: &bytes, from: previous ?? headerSize)
                invalidateCache(&bytes)
                return 1
            }
        } else if span == 1 {
            bytes[position] = valueOpcode(count, 1)
            mergeValues(in: &bytes, from: previous ?? headerSize)
            invalidateCache(&bytes)
            return 1
        }
        // Split the run: what lies before `index`, the new value, what lies after.
        let last = first + span - 1
        var replacement: [UInt8] = []
        replacement.reserveCapacity(5)
        if isValue {
            let current = (opcode >> 2 & 0x1F) + 1
            if index != first { replacement.append(valueOpcode(current, index - first)) }
            replacement.append(valueOpcode(count, 1))
            if index != last { replacement.append(valueOpcode(current, last - index)) }
        } else {
            if index != first { appendZeros(index - first, to: &replacement) }
            replacement.append(valueOpcode(count, 1))
            if index != last { appendZeros(last - index, to: &replacement) }
        }
        let oldSize = opcodeSize(opcode)
        if replacement.count > oldSize && bytes.count + replacement.count - oldSize > sparseMaxBytes {
            return promote(&bytes, index, count)
        }
        bytes.replaceSubrange(position..<position + oldSize, with: replacement)
        mergeValues(in: &bytes, from: previous ?? headerSize)
        invalidateCache(&bytes)
        return 1
    }

    /// Turns the string dense, then sets the register (it grows: 1).
    private static func promote(_ bytes: inout [UInt8], _ index: Int, _ count: UInt8) -> Int? {
        guard toDense(&bytes) else { return nil }
        if denseRegister(bytes, index) < count { setDenseRegister(&bytes, index, count) }
        invalidateCache(&bytes)
        return 1
    }

    /// Joins neighbouring value runs of one value (up to the longest run),
    /// over the few opcodes after `start` a change can have touched.
    private static func mergeValues(in bytes: inout [UInt8], from start: Int) {
        var position = start
        var looks = 5
        while position < bytes.count && looks > 0 {
            looks -= 1
            let opcode = bytes[position]
            guard opcode & 0x80 != 0 else {
                position += opcodeSize(opcode)
                continue
            }
            if position + 1 < bytes.count && bytes[position + 1] & 0x80 != 0 {
                let next = bytes[position + 1]
                let value = (opcode >> 2 & 0x1F) + 1
                let length = Int(opcode & 3) + Int(next & 3) + 2
                if value == (next >> 2 & 0x1F) + 1 && length <= sparseValueRunMax {
                    bytes[position + 1] = valueOpcode(value, length)
                    bytes.remove(at: position)
                    continue
                }
            }
            position += 1
        }
    }

    /// Turns a sparse string dense (the cached cardinality kept); false if
    /// it is corrupt. A dense one is left as it is.
    @discardableResult
    static func toDense(_ bytes: inout [UInt8]) -> Bool {
        guard bytes[4] == sparse else { return true }
        var registers = [UInt8](repeating: 0, count: registerCount)
        guard bytes.withUnsafeBytes({ raw in raiseRegisters(&registers, fromSparse: raw) }) else { return false }
        var result = Array(bytes[0..<headerSize])
        result[4] = dense
        result += [UInt8](repeating: 0, count: denseSize - headerSize)
        for (index, value) in registers.enumerated() where value != 0 { setDenseRegister(&result, index, value) }
        bytes = result
        return true
    }

    // MARK: registers

    static func denseRegister(_ bytes: [UInt8], _ index: Int) -> UInt8 {
        let bit = index * 6
        let byte = headerSize + bit / 8
        let shift = bit % 8
        let low = UInt16(bytes[byte]) >> shift
        let high = byte + 1 < bytes.count ? UInt16(bytes[byte + 1]) << (8 - shift) : 0
        return UInt8((low | high) & 0x3F)
    }

    static func setDenseRegister(_ bytes: inout [UInt8], _ index: Int, _ value: UInt8) {
        let bit = index * 6
        let byte = headerSize + bit / 8
        let shift = bit % 8
        let field = UInt16(value & 0x3F) << shift
        let mask = UInt16(0x3F) << shift
        bytes[byte] = bytes[byte] & ~UInt8(truncatingIfNeeded: mask) | UInt8(truncatingIfNeeded: field)
        if shift > 2 {
            bytes[byte + 1] = bytes[byte + 1] & ~UInt8(truncatingIfNeeded: mask >> 8) | UInt8(field >> 8)
        }
    }

    /// Raises each of `registers` (16,384 bytes, one per register) to the
    /// string's; false if the string is corrupt.
    static func raiseRegisters(_ registers: inout [UInt8], from bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes[4] == dense {
            let copy = Array(bytes)
            for index in 0..<registerCount {
                let value = denseRegister(copy, index)
                if value > registers[index] { registers[index] = value }
            }
            return true
        }
        return raiseRegisters(&registers, fromSparse: bytes)
    }

    private static func raiseRegisters(_ registers: inout [UInt8], fromSparse bytes: UnsafeRawBufferPointer) -> Bool {
        forEachRun(ofSparse: bytes) { value, start, length in
            for register in start..<start + length where registers[register] < value { registers[register] = value }
        }
    }

    /// Calls `body` with each run of a sparse string (its value, 0 for
    /// zeros, its first register and its length), in order; false, part
    /// way, if the string is corrupt (a truncated opcode, runs past or
    /// short of the 16,384 registers).
    private static func forEachRun(
        ofSparse bytes: UnsafeRawBufferPointer, _ body: (_ value: UInt8, _ start: Int, _ length: Int) -> Void
    ) -> Bool {
        var index = 0
        var position = headerSize
        while position < bytes.count {
            let opcode = bytes[position]
            let size = opcodeSize(opcode)
            guard position + size <= bytes.count else { return false }
            let length = runLength(bytes, at: position)
            guard index + length <= registerCount else { return false }
            body(opcode & 0x80 != 0 ? (opcode >> 2 & 0x1F) + 1 : 0, index, length)
            index += length
            position += size
        }
        return index == registerCount
    }

    // MARK: counting

    /// The estimated cardinality of the string; nil if it is corrupt.
    static func count(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        var histogram = [Int](repeating: 0, count: 64)
        if bytes[4] == dense {
            let copy = Array(bytes)
            for index in 0..<registerCount { histogram[Int(denseRegister(copy, index))] += 1 }
        } else {
            guard forEachRun(ofSparse: bytes, { value, _, length in histogram[Int(value)] += length }) else {
                return nil
            }
        }
        return estimate(histogram)
    }

    /// The estimate from one register per byte (PFCOUNT of several keys).
    static func count(registers: [UInt8]) -> UInt64 {
        var histogram = [Int](repeating: 0, count: 64)
        for value in registers { histogram[Int(value)] += 1 }
        return estimate(histogram)
    }

    /// Ertl's estimator over the registers' histogram (q = 50 bits).
    private static func estimate(_ histogram: [Int]) -> UInt64 {
        let m = Double(registerCount)
        let q = 64 - 14
        var z = m * tau((m - Double(histogram[q + 1])) / m)
        for value in stride(from: q, through: 1, by: -1) {
            z += Double(histogram[value])
            z *= 0.5
        }
        z += m * sigma(Double(histogram[0]) / m)
        // 0.5 / ln 2, the bias correction for an unbounded register count.
        let alphaInfinity = 0.721347520444481703680
        let estimate = (alphaInfinity * m * m / z).rounded(.toNearestOrAwayFromZero)
        // Registers no element can set (a hand-made string, all past 50)
        // make z 0: redis-server's llroundl then gives LLONG_MIN's bits.
        guard estimate.isFinite && estimate < 0x1p63 else { return UInt64(1) << 63 }
        return UInt64(estimate)
    }

    private static func sigma(_ start: Double) -> Double {
        if start == 1 { return .infinity }
        var x = start
        var y = 1.0
        var z = start
        while true {
            x *= x
            let previous = z
            z += x * y
            y += y
            if previous == z { return z }
        }
    }

    private static func tau(_ start: Double) -> Double {
        if start == 0 || start == 1 { return 0 }
        var x = start
        var y = 1.0
        var z = 1 - start
        while true {
            x = x.squareRoot()
            let previous = z
            y *= 0.5
            z -= (1 - x) * (1 - x) * y
            if previous == z { return z / 3 }
        }
    }

    // MARK: sparse opcodes

    @inline(__always)
    static func opcodeSize(_ opcode: UInt8) -> Int {
        opcode & 0xC0 == 0x40 ? 2 : 1
    }

    /// The registers the opcode at `position` covers (its second byte, for
    /// a long zero run, must be there).
    static func runLength<Bytes: Collection<UInt8>>(_ bytes: Bytes, at position: Bytes.Index) -> Int
    where Bytes.Index == Int {
        let opcode = bytes[position]
        if opcode & 0x80 != 0 { return Int(opcode & 3) + 1 }
        if opcode & 0x40 == 0 { return Int(opcode & 0x3F) + 1 }
        guard position + 1 < bytes.endIndex else { return 0 }
        return (Int(opcode & 0x3F) << 8 | Int(bytes[position + 1])) + 1
    }

    private static func valueOpcode(_ value: UInt8, _ length: Int) -> UInt8 {
        0x80 | (value - 1) << 2 | UInt8(length - 1)
    }

    private static func appendZeros(_ length: Int, to bytes: inout [UInt8]) {
        if length > sparseZeroRunMax {
            appendZeroRun(length, to: &bytes)
        } else {
            bytes.append(UInt8(length - 1))
        }
    }

    private static func appendZeroRun(_ length: Int, to bytes: inout [UInt8]) {
        bytes.append(0x40 | UInt8((length - 1) >> 8))
        bytes.append(UInt8((length - 1) & 0xFF))
    }

    /// The readable form of a sparse string's opcodes (PFDEBUG DECODE):
    /// "z:len" and "Z:len" for zero runs, "v:value,len" for values.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> String {
        var parts: [String] = []
        var position = headerSize
        while position < bytes.count {
            let opcode = bytes[position]
            let length = runLength(bytes, at: position)
            if opcode & 0x80 != 0 {
                parts.append("v:\((opcode >> 2 & 0x1F) + 1),\(length)")
            } else {
                parts.append(opcode & 0x40 == 0 ? "z:\(length)" : "Z:\(length)")
            }
            position += opcodeSize(opcode)
        }
        return parts.joined(separator: " ")
    }

    // MARK: hashing

    /// MurmurHash64A (Austin Appleby's, public domain), its 8-byte blocks
    /// read little-endian as redis-server reads them on any machine.
    static func murmurHash64A(_ data: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let multiplier: UInt64 = 0xc6a4_a793_5bd1_e995
        let shift: UInt64 = 47
        var hash = seed ^ (UInt64(data.count) &* multiplier)
        let blocks = data.count / 8
        for block in 0..<blocks {
            var k = UInt64(littleEndian: data.loadUnaligned(fromByteOffset: block * 8, as: UInt64.self))
            k = k &* multiplier
            k ^= k >> shift
            k = k &* multiplier
            hash ^= k
            hash = hash &* multiplier
        }
        let tail = data.count & 7
        if tail > 0 {
            for index in (0..<tail).reversed() { hash ^= UInt64(data[blocks * 8 + index]) << (8 * UInt64(index)) }
            hash = hash &* multiplier
        }
        hash ^= hash >> shift
        hash = hash &* multiplier
        hash ^= hash >> shift
        return hash
    }
}
