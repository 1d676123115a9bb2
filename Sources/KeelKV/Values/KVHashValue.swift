// A hash's fields, whichever way they are held: a pack of field, value,
// field, value... while small (KVLimits), a KVFieldTable past that. Every
// change keeps the entry's object pointer current (a pack moves when it
// grows) and converts the hash when it outgrows its pack.

/// The fields of one hash entry.
struct KVHashValue {
    let entry: KVEntry

    init(_ entry: KVEntry) {
        precondition(entry.type == .hash, "not a hash")
        self.entry = entry
    }

    private var isCompact: Bool { entry.encoding == .compact }
    private var table: KVFieldTable { KVObjects.object(entry.object, as: KVFieldTable.self) }

    /// A new hash's object: an empty pack. Nil when malloc fails.
    static func makeObject() -> UnsafeMutableRawPointer? {
        KVPack.make()?.pointer
    }

    var count: Int {
        isCompact ? KVPack(entry.object).count / 2 : table.count
    }

    /// Calls `body` with the value of `field`, if present.
    func value<R>(of field: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        if isCompact {
            let pack = KVPack(entry.object)
            guard let offset = pack.find(field, stride: 2) else { return nil }
            let valueOffset = pack.element(at: offset).next
            return body(pack.element(at: valueOffset).bytes)
        }
        return table.find(field).map { body($0.value) }
    }

    func contains(_ field: UnsafeRawBufferPointer) -> Bool {
        value(of: field) { _ in () } != nil
    }

    /// Sets `field` to `value`: true when the field is new, false when it
    /// was replaced, nil when memory ran out (the hash is unchanged).
    func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, limits: KVLimits) -> Bool? {
        if isCompact {
            var pack = KVPack(entry.object)
            if let offset = pack.find(field, stride: 2) {
                let valueOffset = pack.element(at: offset).next
                if value.count <= limits.hashValue && pack.hasRoom(for: value.count) {
                    guard pack.replace(at: valueOffset, with: value) else { return nil }
                    entry.object = pack.pointer
                    return false
                }
            } else if pack.count / 2 < limits.hashEntries && field.count <= limits.hashValue
                && value.count <= limits.hashValue && pack.hasRoom(for: field.count, value.count)
            {
                guard pack.insert([field, value], at: pack.endOffset) else { return nil }
                entry.object = pack.pointer
                return true
            }
            guard convertToTable() else { return nil }
        }
        return table.set(field, value)
    }

    /// Removes `field`; whether it was there.
    func remove(_ field: UnsafeRawBufferPointer) -> Bool {
        if isCompact {
            var pack = KVPack(entry.object)
            guard let offset = pack.find(field, stride: 2) else { return false }
            pack.remove(at: offset, elementCount: 2)
            entry.object = pack.pointer
            return true
        }
        return table.remove(field)
    }

    /// Calls `body` with every field and value, until it returns false.
    func forEachField(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        if isCompact {
            let pack = KVPack(entry.object)
            var offset = pack.startOffset
            while offset < pack.endOffset {
                let (field, next) = pack.element(at: offset)
                let (value, after) = pack.element(at: next)
                if !body(field, value) { return }
                offset = after
            }
        } else {
            var going = true
            table.forEachEntry { entry in
                if going { going = body(entry.field, entry.value) }
            }
        }
    }

    /// One HSCAN step: a pack is returned whole (cursor 0), as Redis does.
    func scan(_ cursor: UInt64, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) -> UInt64 {
        if isCompact {
            forEachField { field, value in
                body(field, value)
                return true
            }
            return 0
        }
        return table.scan(cursor) { body($0.field, $0.value) }
    }

    /// The fields and values at random positions: `count` of them, distinct
    /// unless `withRepeats`.
    func randomFields<G: RandomNumberGenerator>(
        _ count: Int, withRepeats: Bool, using generator: inout G,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void
    ) {
        let total = self.count
        guard total > 0, count > 0 else { return }
        if isCompact {
            // A small pack: its pairs gathered once, then picked by position.
            var pairs: [(UnsafeRawBufferPointer, UnsafeRawBufferPointer)] = []
            pairs.reserveCapacity(total)
            forEachField { field, value in
                pairs.append((field, value))
                return true
            }
            if withRepeats {
                for _ in 0..<count {
                    let (field, value) = pairs[Int.random(in: 0..<total, using: &generator)]
                    body(field, value)
                }
            } else if count >= total {
                for (field, value) in pairs { body(field, value) }
            } else {
                for position in KVSampling.distinctPositions(count, of: total, using: &generator) {
                    body(pairs[position].0, pairs[position].1)
                }
            }
            return
        }
        if withRepeats {
            for _ in 0..<count {
                let entry = table.random(using: &generator).unsafelyUnwrapped
                body(entry.field, entry.value)
            }
        } else if count >= total {
            table.forEachEntry { body($0.field, $0.value) }
        } else {
            for pointer in KVSampling.distinctEntries(count, of: table, using: &generator) {
                let entry = KVFieldEntry(pointer)
                body(entry.field, entry.value)
            }
        }
    }

    /// Turns the pack into a field table. False when memory ran out.
    private func convertToTable() -> Bool {
        let pack = KVPack(entry.object)
        let table = KVFieldTable()
        var ok = true
        var offset = pack.startOffset
        while offset < pack.endOffset && ok {
            let (field, next) = pack.element(at: offset)
            let (value, after) = pack.element(at: next)
            ok = table.set(field, value) != nil
            offset = after
        }
        guard ok else { return false }
        pack.release()
        entry.object = KVObjects.pointer(to: table)
        entry.setEncoding(.general)
        return true
    }

    func checkInvariants() {
        if isCompact {
            let pack = KVPack(entry.object)
            pack.checkInvariants()
            precondition(pack.count % 2 == 0, "a hash pack with an odd element count")
        } else {
            table.checkInvariants()
        }
    }
}
