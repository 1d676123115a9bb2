// A set's members, whichever way they are held: an intset while every
// member is an integer (up to set-max-intset-entries), a pack of members
// while small (set-max-listpack-entries and -value, as redis-server 7.2
// keeps small sets), a KVFieldTable past that. A set converts one way only,
// as in Redis.

/// The members of one set entry.
struct KVSetValue {
    let entry: KVEntry

    init(_ entry: KVEntry) {
        precondition(entry.type == .set, "not a set")
        self.entry = entry
    }

    private var table: KVFieldTable { KVObjects.object(entry.object, as: KVFieldTable.self) }

    /// A new set's object for a first member like `member`: an intset when
    /// it is an integer, else a pack where the limits allow one (7.2's
    /// set-max-listpack-*), else a table (7.0's only encoding for strings).
    /// Nil when malloc fails.
    static func makeObject(for member: UnsafeRawBufferPointer, limits: KVLimits)
        -> (UnsafeMutableRawPointer, KVEncoding)?
    {
        if KVInteger.canonical(member) != nil {
            return KVIntSet.make().map { ($0.pointer, .integer) }
        }
        guard limits.setEntries > 0 && member.count <= limits.setValue else {
            return (KVObjects.pointer(to: KVFieldTable()), .general)
        }
        return KVPack.make().map { ($0.pointer, .compact) }
    }

    var count: Int {
        switch entry.encoding {
        case .integer: KVIntSet(entry.object).count
        case .compact: KVPack(entry.object).count
        case .general: table.count
        }
    }

    func contains(_ member: UnsafeRawBufferPointer) -> Bool {
        switch entry.encoding {
        case .integer:
            guard let value = KVInteger.canonical(member) else { return false }
            return KVIntSet(entry.object).contains(value)
        case .compact: return KVPack(entry.object).find(member) != nil
        case .general: return table.contains(member)
        }
    }

    /// Adds `member`: true when new, false when present, nil when memory
    /// ran out (the set is unchanged).
    func add(_ member: UnsafeRawBufferPointer, limits: KVLimits) -> Bool? {
        switch entry.encoding {
        case .integer:
            var intset = KVIntSet(entry.object)
            if let value = KVInteger.canonical(member) {
                if intset.contains(value) { return false }
                if intset.count < limits.intsetEntries {
                    guard let added = intset.insert(value) else { return nil }
                    entry.object = intset.pointer
                    return added
                }
            }
            // A member that is not an integer, or too many: a pack if it fits, else a table.
            if intset.count < limits.setEntries && member.count <= limits.setValue {
                guard convertIntsetToPack() else { return nil }
            } else {
                guard convertToTable() else { return nil }
            }
            return add(member, limits: limits)
        case .compact:
            var pack = KVPack(entry.object)
            if pack.find(member) != nil { return false }
            if pack.count < limits.setEntries && member.count <= limits.setValue && pack.hasRoom(for: member.count) {
                guard pack.insert([member], at: pack.endOffset) else { return nil }
                entry.object = pack.pointer
                return true
            }
            guard convertToTable() else { return nil }
            return table.add(member)
        case .general:
            return table.add(member)
        }
    }

    /// Removes `member`; whether it was there.
    func remove(_ member: UnsafeRawBufferPointer) -> Bool {
        switch entry.encoding {
        case .integer:
            guard let value = KVInteger.canonical(member) else { return false }
            var intset = KVIntSet(entry.object)
            guard intset.remove(value) else { return false }
            entry.object = intset.pointer
            return true
        case .compact:
            var pack = KVPack(entry.object)
            guard let offset = pack.find(member) else { return false }
            pack.remove(at: offset, elementCount: 1)
            entry.object = pack.pointer
            return true
        case .general:
            return table.remove(member)
        }
    }

    /// Calls `body` with every member, until it returns false.
    func forEachMember(_ body: (UnsafeRawBufferPointer) -> Bool) {
        switch entry.encoding {
        case .integer:
            let intset = KVIntSet(entry.object)
            for index in 0..<intset.count {
                let keepGoing = KVInteger.withDigits(intset[index]) { body($0) }
                if !keepGoing { return }
            }
        case .compact:
            KVPack(entry.object).forEachElement { member, _ in body(member) }
        case .general:
            var going = true
            table.forEachEntry { if going { going = body($0.field) } }
        }
    }

    /// `count` distinct members at random (all of them when `count` is at
    /// least the size), in time proportional to `count` for a table.
    func randomDistinctMembers<G: RandomNumberGenerator>(
        _ count: Int, using generator: inout G, _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        let total = self.count
        guard count < total else {
            forEachMember {
                body($0)
                return true
            }
            return
        }
        switch entry.encoding {
        case .integer:
            let intset = KVIntSet(entry.object)
            for position in KVSampling.distinctPositions(count, of: total, using: &generator) {
                KVInteger.withDigits(intset[position]) { body($0) }
            }
        case .compact:
            // A small pack: its members gathered once, then picked by position.
            var members: [UnsafeRawBufferPointer] = []
            members.reserveCapacity(total)
            KVPack(entry.object).forEachElement { member, _ in
                members.append(member)
                return true
            }
            for position in KVSampling.distinctPositions(count, of: total, using: &generator) {
                body(members[position])
            }
        case .general:
            for pointer in KVSampling.distinctEntries(count, of: table, using: &generator) {
                body(KVFieldEntry(pointer).field)
            }
        }
    }

    /// A random member (its bytes copied), or nil when empty.
    func randomMember<G: RandomNumberGenerator>(using generator: inout G) -> [UInt8]? {
        switch entry.encoding {
        case .general:
            return table.random(using: &generator).map { Array($0.field) }
        case .integer:
            let intset = KVIntSet(entry.object)
            guard intset.count > 0 else { return nil }
            return KVInteger.withDigits(intset[Int.random(in: 0..<intset.count, using: &generator)]) { Array($0) }
        case .compact:
            let pack = KVPack(entry.object)
            guard pack.count > 0 else { return nil }
            let index = Int.random(in: 0..<pack.count, using: &generator)
            return Array(pack.element(at: pack.offset(ofIndex: index)).bytes)
        }
    }

    /// One SSCAN step: a pack or intset is returned whole (cursor 0).
    func scan(_ cursor: UInt64, _ body: (UnsafeRawBufferPointer) -> Void) -> UInt64 {
        if entry.encoding == .general { return table.scan(cursor) { body($0.field) } }
        forEachMember {
            body($0)
            return true
        }
        return 0
    }

    private func convertIntsetToPack() -> Bool {
        let intset = KVIntSet(entry.object)
        guard var pack = KVPack.make() else { return false }
        for index in 0..<intset.count {
            let ok = KVInteger.withDigits(intset[index]) { pack.insert([$0], at: pack.endOffset) }
            guard ok else {
                pack.release()
                return false
            }
        }
        intset.release()
        entry.object = pack.pointer
        entry.setEncoding(.compact)
        return true
    }

    private func convertToTable() -> Bool {
        let table = KVFieldTable()
        var ok = true
        forEachMember { member in
            ok = table.add(member) != nil
            return ok
        }
        guard ok else { return false }
        KVObjects.release(entry.object, type: .set, encoding: entry.encoding)
        entry.object = KVObjects.pointer(to: table)
        entry.setEncoding(.general)
        return true
    }

    func checkInvariants() {
        switch entry.encoding {
        case .integer: KVIntSet(entry.object).checkInvariants()
        case .compact: KVPack(entry.object).checkInvariants()
        case .general: table.checkInvariants()
        }
    }
}
