// GEO commands: GEOADD, GEOPOS, GEODIST, GEOHASH, GEORADIUS,
// GEORADIUSBYMEMBER (and their _RO forms), GEOSEARCH, GEOSEARCHSTORE. A
// geospatial index is a sorted set whose scores are 52-bit geohashes
// (KVGeohash), so every sorted set command works on it too; searches read
// the score ranges of the cells covering the shape, as redis-server does,
// so the same members come back in the same order.

import Glibc
import KeelWire

enum KVGeoCommands {
    // MARK: GEOADD

    /// GEOADD key [NX | XX] [CH] longitude latitude member [...]: ZADD with
    /// each point's geohash as its score.
    static func geoadd(_ context: KVContext) {
        var options = KVSortedSetCommands.AddOptions()
        var index = 2
        while index < context.argumentCount {
            if context.argument(index, is: "NX") {
                options.onlyIfAbsent = true
            } else if context.argument(index, is: "XX") {
                options.onlyIfPresent = true
            } else if context.argument(index, is: "CH") {
                options.changed = true
            } else {
                break
            }
            index += 1
        }
        let elements = context.argumentCount - index
        guard elements % 3 == 0, elements > 0, !(options.onlyIfAbsent && options.onlyIfPresent) else {
            return context.syntaxError()
        }
        var pairs: [(score: Double, member: Int)] = []
        for first in stride(from: index, to: context.argumentCount, by: 3) {
            guard let (longitude, latitude) = point(context, at: first),
                let score = KVGeohash.score(longitude: longitude, latitude: latitude)
            else { return }
            pairs.append((Double(score), first + 2))
        }
        KVSortedSetCommands.add(context, options, pairs)
    }

    // MARK: reading members' positions

    /// GEOPOS key member [...]: each member's longitude and latitude, or a
    /// null array.
    static func geopos(_ context: KVContext) {
        forEachMember(context) { score in
            guard let score else { return context.reply.nullArray() }
            let (longitude, latitude) = KVGeohash.position(ofScore: score)
            context.reply.arrayHeader(2)
            replyCoordinate(context, longitude)
            replyCoordinate(context, latitude)
        }
    }

    /// GEODIST key member1 member2 [M | KM | FT | MI].
    static func geodist(_ context: KVContext) {
        var metersPerUnit = 1.0
        if context.argumentCount == 5 {
            guard let unit = unit(context, at: 4) else { return }
            metersPerUnit = unit
        } else if context.argumentCount > 5 {
            return context.syntaxError()
        }
        guard let found = KVSortedSetCommands.readable(context, context[1]) else { return }
        guard let set = found, let first = set.score(of: context[2]), let second = set.score(of: context[3]) else {
            return context.reply.null()
        }
        let from = KVGeohash.position(ofScore: first)
        let to = KVGeohash.position(ofScore: second)
        replyDistance(
            context, KVGeohash.distance(from.longitude, from.latitude, to.longitude, to.latitude) / metersPerUnit)
    }

    /// GEOHASH key member [...]: each member's 11-character geohash (the
    /// standard one, over latitudes ±90), or null.
    static func geohash(_ context: KVContext) {
        forEachMember(context) { score in
            guard let score else { return context.reply.null() }
            context.reply.bulkString(KVGeohash.standardText(ofScore: score))
        }
    }

    /// An array of one reply per member argument (from the third): `body`
    /// writes it from the member's score (nil: not in the set, or no set).
    private static func forEachMember(_ context: KVContext, _ body: (Double?) -> Void) {
        guard let found = KVSortedSetCommands.readable(context, context[1]) else { return }
        context.reply.arrayHeader(context.argumentCount - 2)
        for index in 2..<context.argumentCount { body(found?.score(of: context[index])) }
    }

    // MARK: searching

    /// Which command is searching: they differ in where the centre and the
    /// shape come from, and in where the result goes.
    enum Search {
        /// GEORADIUS key longitude latitude radius unit ...
        case radius
        /// GEORADIUSBYMEMBER key member radius unit ...
        case radiusByMember
        /// GEOSEARCH key FROMMEMBER|FROMLONLAT ... BYRADIUS|BYBOX ...
        case search
        /// GEOSEARCHSTORE destination source ...
        case searchStore
    }

    /// A point a search found. `member` points into the sorted set, which
    /// stays as it is until the command replies (a STORE copies first).
    private struct Found {
        var member: UnsafeRawBufferPointer
        var longitude: Double
        var latitude: Double
        /// From the centre, in meters.
        var distance: Double
        var score: Double
    }

    /// The options after a search's fixed arguments.
    private struct SearchOptions {
        var withDistance = false
        var withHash = false
        var withCoordinates = false
        var fromMember = false
        var fromPoint = false
        var byRadius = false
        var byBox = false
        var ascending: Bool?
        var any = false
        var count = 0
        var storeKey: Int?
        var storeDistance = false
    }

    /// Every search command; `readOnly`: the _RO forms, which cannot
    /// STORE.
    static func search(_ context: KVContext, _ search: Search, readOnly: Bool = false) {
        let sourceIndex = search == .searchStore ? 2 : 1
        guard let found = KVSortedSetCommands.readable(context, context[sourceIndex]) else { return }
        var centre: (longitude: Double, latitude: Double)?
        var kind: KVGeoShape.Kind?
        var metersPerUnit = 1.0
        var options = SearchOptions()
        let base: Int
        switch search {
        case .radius:
            base = 6
            guard let point = point(context, at: 2), let (radius, unit) = distance(context, at: 4) else { return }
            (centre, kind, metersPerUnit) = (point, .radius(radius), unit)
        case .radiusByMember:
            base = 5
            // Without the key the arguments are still read, to know the
            // reply's kind.
            if let set = found {
                guard let score = set.score(of: context[2]) else {
                    return context.reply.error("ERR could not decode requested zset member")
                }
                guard let (radius, unit) = distance(context, at: 3) else { return }
                (centre, kind, metersPerUnit) = (KVGeohash.position(ofScore: score), .radius(radius), unit)
            }
        case .search:
            base = 2
        case .searchStore:
            base = 3
            options.storeKey = 1
        }
        let isSearch = search == .search || search == .searchStore
        var index = base
        while index < context.argumentCount {
            let remaining = context.argumentCount - index - 1
            if context.argument(index, is: "WITHDIST") {
                options.withDistance = true
            } else if context.argument(index, is: "WITHHASH") {
                options.withHash = true
            } else if context.argument(index, is: "WITHCOORD") {
                options.withCoordinates = true
            } else if context.argument(index, is: "ANY") {
                options.any = true
            } else if context.argument(index, is: "ASC") {
                options.ascending = true
            } else if context.argument(index, is: "DESC") {
                options.ascending = false
            } else if context.argument(index, is: "COUNT") && remaining >= 1 {
                guard let count = context.integer(at: index + 1) else { return }
                guard count > 0 else { return context.reply.error("ERR COUNT must be > 0") }
                options.count = Int(count)
                index += 1
            } else if (context.argument(index, is: "STORE") || context.argument(index, is: "STOREDIST"))
                && remaining >= 1 && !readOnly && !isSearch
            {
                options.storeKey = index + 1
                options.storeDistance = context.argument(index, is: "STOREDIST")
                index += 1
            } else if context.argument(index, is: "STOREDIST") && search == .searchStore {
                options.storeDistance = true
            } else if context.argument(index, is: "FROMMEMBER") && remaining >= 1 && isSearch && !options.fromPoint {
                // Without the key the member is not looked for.
                if let set = found {
                    guard let score = set.score(of: context[index + 1]) else {
                        return context.reply.error("ERR could not decode requested zset member")
                    }
                    centre = KVGeohash.position(ofScore: score)
                }
                options.fromMember = true
                index += 1
            } else if context.argument(index, is: "FROMLONLAT") && remaining >= 2 && isSearch && !options.fromMember {
                guard let point = point(context, at: index + 1) else { return }
                centre = point
                options.fromPoint = true
                index += 2
            } else if context.argument(index, is: "BYRADIUS") && remaining >= 2 && isSearch && !options.byBox {
                guard let (radius, unit) = distance(context, at: index + 1) else { return }
                (kind, metersPerUnit) = (.radius(radius), unit)
                options.byRadius = true
                index += 2
            } else if context.argument(index, is: "BYBOX") && remaining >= 3 && isSearch && !options.byRadius {
                guard let (width, height, unit) = box(context, at: index + 1) else { return }
                (kind, metersPerUnit) = (.box(width: width, height: height), unit)
                options.byBox = true
                index += 3
            } else {
                return context.syntaxError()
            }
            index += 1
        }
        guard checkCombination(context, options, search) else { return }
        guard let set = found, let centre, let kind else {
            if let storeKey = options.storeKey {
                KVSortedSetCommands.store(context, context[storeKey], [], event: "georadiusstore")
            } else {
                context.reply.arrayHeader(0)
            }
            return
        }
        let shape = KVGeoShape(
            longitude: centre.longitude, latitude: centre.latitude, kind: kind, metersPerUnit: metersPerUnit)
        var points = collect(set, shape, limit: options.any ? options.count : 0)
        // COUNT means the nearest COUNT unless ANY asked for any.
        let ascending = options.ascending ?? (options.count > 0 && !options.any ? true : nil)
        if let ascending {
            if ascending {
                points.sort { $0.distance < $1.distance }
            } else {
                points.sort { $0.distance > $1.distance }
            }
        }
        if options.count > 0 && points.count > options.count { points.removeLast(points.count - options.count) }
        if let storeKey = options.storeKey {
            let items = points.map {
                (Array($0.member), options.storeDistance ? $0.distance / metersPerUnit : $0.score)
            }
            let event: StaticString = isSearch ? "geosearchstore" : "georadiusstore"
            return KVSortedSetCommands.store(context, context[storeKey], items, event: event)
        }
        reply(context, points, options, metersPerUnit: metersPerUnit)
    }

    /// The errors redis-server gives once the options are read, in its
    /// order.
    private static func checkCombination(_ context: KVContext, _ options: SearchOptions, _ search: Search) -> Bool {
        if options.storeKey != nil && (options.withDistance || options.withHash || options.withCoordinates) {
            context.reply.error(
                search == .searchStore
                    ? "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
                    : "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
            return false
        }
        let isSearch = search == .search || search == .searchStore
        if isSearch && !(options.fromMember || options.fromPoint) {
            context.reply.error(
                KVContext.text("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ", context[0], ""))
            return false
        }
        if isSearch && !(options.byRadius || options.byBox) {
            context.reply.error(
                KVContext.text("ERR exactly one of BYRADIUS and BYBOX can be specified for ", context[0], ""))
            return false
        }
        if options.any && options.count == 0 {
            context.reply.error("ERR the ANY argument requires COUNT argument")
            return false
        }
        return true
    }

    /// The members inside `shape`, cell by cell, each cell in score order;
    /// at most `limit` of them when it is not 0.
    private static func collect(_ set: KVZSetValue, _ shape: KVGeoShape, limit: Int) -> [Found] {
        var points: [Found] = []
        let cells = KVGeohash.cells(covering: shape)
        var lastSearched = 0
        for (position, cell) in cells.enumerated() where !cell.isNone {
            // A very large shape can make neighbours the same cell: a cell
            // equal to the one searched last is skipped (redis-server
            // never compares with the centre's, and neither does this).
            if lastSearched != 0 && cell == cells[lastSearched] { continue }
            if limit > 0 && points.count >= limit { break }
            let (lower, upper) = cell.scoreRange
            set.forEachMember(scoresFrom: lower, below: upper) { member, score in
                let (longitude, latitude) = KVGeohash.position(ofScore: score)
                if let distance = shape.distanceIfInside(longitude: longitude, latitude: latitude) {
                    points.append(
                        Found(
                            member: member, longitude: longitude, latitude: latitude, distance: distance, score: score))
                }
                return limit == 0 || points.count < limit
            }
            lastSearched = position
        }
        return points
    }

    /// A search's reply: members alone, or each with what was asked for.
    private static func reply(_ context: KVContext, _ points: [Found], _ options: SearchOptions, metersPerUnit: Double)
    {
        let extras = (options.withDistance ? 1 : 0) + (options.withHash ? 1 : 0) + (options.withCoordinates ? 1 : 0)
        context.reply.arrayHeader(points.count)
        for point in points {
            if extras > 0 { context.reply.arrayHeader(extras + 1) }
            context.reply.bulkString(point.member)
            if options.withDistance { replyDistance(context, point.distance / metersPerUnit) }
            if options.withHash { context.reply.integer(Int(point.score)) }
            if options.withCoordinates {
                context.reply.arrayHeader(2)
                replyCoordinate(context, point.longitude)
                replyCoordinate(context, point.latitude)
            }
        }
    }

    /// GEORADIUS' and GEORADIUSBYMEMBER's keys, options from `firstOption`:
    /// the source, then as redis-server's key specifications find them (the
    /// argument after the first STORE, after the first STOREDIST), and the
    /// one the command writes (after the last of either) if not yet named.
    static func radiusKeys(_ command: RESPCommand, firstOption: Int) -> [Int] {
        var keys = [1]
        var firstStore: Int?
        var firstStoreDistance: Int?
        var written: Int?
        var index = firstOption
        while index + 1 < command.count {
            let isStore = command.argument(index, equalsIgnoringCase: "STORE")
            let isStoreDistance = command.argument(index, equalsIgnoringCase: "STOREDIST")
            if isStore && firstStore == nil { firstStore = index + 1 }
            if isStoreDistance && firstStoreDistance == nil { firstStoreDistance = index + 1 }
            index += 1
        }
        // What the command itself reads: options and their values in turn.
        index = firstOption
        while index + 1 < command.count {
            if command.argument(index, equalsIgnoringCase: "STORE")
                || command.argument(index, equalsIgnoringCase: "STOREDIST")
            {
                written = index + 1
                index += 1
            }
            index += 1
        }
        for key in [firstStore, firstStoreDistance, written] {
            if let key, !keys.contains(key) { keys.append(key) }
        }
        return keys
    }

    // MARK: arguments and replies

    /// A longitude and a latitude from two arguments, replying an error
    /// when either is not a number or the point is outside the square.
    private static func point(_ context: KVContext, at index: Int) -> (longitude: Double, latitude: Double)? {
        guard let longitude = KVDouble.parse(context[index]), let latitude = KVDouble.parse(context[index + 1]) else {
            context.reply.error("ERR value is not a valid float")
            return nil
        }
        guard KVGeohash.isValid(longitude: longitude, latitude: latitude) else {
            context.reply.error(
                "ERR invalid longitude,latitude pair \(fixed(longitude, "%f")),\(fixed(latitude, "%f"))")
            return nil
        }
        return (longitude, latitude)
    }

    /// The meters in one unit named by an argument.
    private static func unit(_ context: KVContext, at index: Int) -> Double? {
        if context.argument(index, is: "M") { return 1 }
        if context.argument(index, is: "KM") { return 1000 }
        if context.argument(index, is: "FT") { return 0.3048 }
        if context.argument(index, is: "MI") { return 1609.34 }
        context.reply.error("ERR unsupported unit provided. please use M, KM, FT, MI")
        return nil
    }

    /// A radius and its unit.
    private static func distance(_ context: KVContext, at index: Int) -> (radius: Double, metersPerUnit: Double)? {
        guard let radius = KVDouble.parse(context[index]) else {
            context.reply.error("ERR need numeric radius")
            return nil
        }
        guard radius >= 0 else {
            context.reply.error("ERR radius cannot be negative")
            return nil
        }
        guard let unit = unit(context, at: index + 1) else { return nil }
        return (radius, unit)
    }

    /// A box's width, height and unit.
    private static func box(_ context: KVContext, at index: Int) -> (
        width: Double, height: Double, metersPerUnit: Double
    )? {
        guard let width = KVDouble.parse(context[index]) else {
            context.reply.error("ERR need numeric width")
            return nil
        }
        guard let height = KVDouble.parse(context[index + 1]) else {
            context.reply.error("ERR need numeric height")
            return nil
        }
        guard width >= 0 && height >= 0 else {
            context.reply.error("ERR height or width cannot be negative")
            return nil
        }
        guard let unit = unit(context, at: index + 2) else { return nil }
        return (width, height, unit)
    }

    /// A coordinate as redis-server writes one: "%.17Lf" without trailing
    /// zeros, a double in RESP3.
    private static func replyCoordinate(_ context: KVContext, _ value: Double) {
        KVDouble.withFixedText(value) { context.reply.double(text: $0) }
    }

    /// A distance as redis-server writes one: a bulk string with 4
    /// decimals, the value rounded to the nearest ten-thousandth (ties to
    /// even), in every protocol.
    static func replyDistance(_ context: KVContext, _ value: Double) {
        withDistanceText(value) { context.reply.bulkString($0) }
    }

    /// `value` to 4 decimals as redis-server's fixed-point formatting.
    static func distanceText(_ value: Double) -> [UInt8] {
        withDistanceText(value) { Array($0) }
    }

    /// Calls `body` with `value` to 4 decimals, formatted on the stack.
    private static func withDistanceText<R>(_ value: Double, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let scaled = llrint(value * 10_000)
        return KVDouble.withFixedPoint(
            UInt128(scaled.magnitude), decimals: 4, negative: scaled < 0, trimmed: false, body)
    }

    /// `value` formatted by C's printf with one double conversion.
    private static func fixed(_ value: Double, _ format: String) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let written = buffer.withUnsafeMutableBufferPointer { raw in
            withVaList([value]) { vsnprintf(raw.baseAddress!, raw.count, format, $0) }
        }
        let count = min(max(Int(written), 0), buffer.count - 1)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
