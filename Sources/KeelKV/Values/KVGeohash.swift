// The geohash arithmetic behind the GEO commands, as redis-server does it so
// that scores, positions, distances and search results agree to the bit: a
// point is its longitude and latitude scaled to 26 bits each over
// [-180, 180] and [-85.05112878, 85.05112878] (the Web Mercator square)
// and interleaved, longitude on the odd bits, into a 52-bit integer, the
// member's sorted set score. A search covers its shape with the cell (of a
// size chosen from the radius) holding the centre and the 8 around it,
// each a contiguous range of scores, and keeps the points inside the shape.

import Glibc

/// A geohash cell: `bits` interleaved at `step` bits per coordinate (0, 0:
/// no cell).
struct KVGeohashCell: Equatable {
    var bits: UInt64
    var step: Int

    static let none = KVGeohashCell(bits: 0, step: 0)
    var isNone: Bool { bits == 0 && step == 0 }

    /// The scores of the points inside this cell: [lower, upper).
    var scoreRange: (lower: Double, upper: Double) {
        let shift = UInt64(52 - step * 2)
        return (Double(bits << shift), Double((bits + 1) << shift))
    }

    /// The cell `dx` columns east and `dy` rows north, wrapping around.
    func moved(dx: Int, dy: Int) -> KVGeohashCell {
        guard step > 0 else { return self }
        let oddBits: UInt64 = 0xaaaa_aaaa_aaaa_aaaa
        let evenBits: UInt64 = 0x5555_5555_5555_5555
        let width = UInt64(64 - step * 2)
        var x = bits & oddBits
        var y = bits & evenBits
        x = Self.step(x, by: dx, fill: evenBits &>> width, keep: oddBits &>> width)
        y = Self.step(y, by: dy, fill: oddBits &>> width, keep: evenBits &>> width)
        return KVGeohashCell(bits: x | y, step: step)
    }

    /// One coordinate's bits (on alternate positions) plus or minus one:
    /// the other coordinate's positions are filled so a carry or borrow
    /// runs across them.
    private static func step(_ value: UInt64, by delta: Int, fill: UInt64, keep: UInt64) -> UInt64 {
        if delta == 0 { return value }
        let result = delta > 0 ? value &+ (fill &+ 1) : (value | fill) &- (fill &+ 1)
        return result & keep
    }
}

/// A cell's extent in degrees.
struct KVGeohashArea {
    var longitudeMin: Double
    var longitudeMax: Double
    var latitudeMin: Double
    var latitudeMax: Double
}

/// A search's shape: a circle of `radius` or a `width` by `height` box,
/// in the unit's length (`metersPerUnit`), about a centre.
struct KVGeoShape {
    enum Kind {
        case radius(Double)
        case box(width: Double, height: Double)
    }

    var longitude: Double
    var latitude: Double
    var kind: Kind
    var metersPerUnit: Double

    /// The distance in meters from the centre to (`longitude`, `latitude`)
    /// when that point is inside the shape.
    func distanceIfInside(longitude: Double, latitude: Double) -> Double? {
        switch kind {
        case .radius(let radius):
            let distance = KVGeohash.distance(self.longitude, self.latitude, longitude, latitude)
            return distance > radius * metersPerUnit ? nil : distance
        case .box(let width, let height):
            // The latitude's distance is the cheaper one: it goes first.
            if KVGeohash.latitudeDistance(latitude, self.latitude) > height * metersPerUnit / 2 { return nil }
            if KVGeohash.distance(longitude, latitude, self.longitude, latitude) > width * metersPerUnit / 2 {
                return nil
            }
            return KVGeohash.distance(self.longitude, self.latitude, longitude, latitude)
        }
    }

    /// The half extents in meters: north-south, east-west.
    var halfExtents: (height: Double, width: Double) {
        switch kind {
        case .radius(let radius): (radius * metersPerUnit, radius * metersPerUnit)
        case .box(let width, let height): (height / 2 * metersPerUnit, width / 2 * metersPerUnit)
        }
    }

    /// How far the shape reaches from its centre, in meters.
    var reach: Double {
        switch kind {
        case .radius(let radius): return radius * metersPerUnit
        case .box(let width, let height):
            let halfWidth = width / 2
            let halfHeight = height / 2
            return (halfWidth * halfWidth + halfHeight * halfHeight).squareRoot() * metersPerUnit
        }
    }
}

enum KVGeohash {
    static let longitudeLimit = 180.0
    static let latitudeLimit = 85.05112878
    static let earthRadius = 6_372_797.560856
    static let mercatorMax = 20_037_726.37
    static let stepMax = 26
    private static let radiansPerDegree = Double.pi / 180

    /// Whether redis-server accepts the pair as a point.
    static func isValid(longitude: Double, latitude: Double) -> Bool {
        longitude >= -longitudeLimit && longitude <= longitudeLimit && latitude >= -latitudeLimit
            && latitude <= latitudeLimit
    }

    // MARK: encoding

    /// The cell of `step` bits holding the point, over the given latitude
    /// range (redis' own, or the standard geohash's ±90 for GEOHASH); nil
    /// outside the Mercator square or the range.
    static func encode(longitude: Double, latitude: Double, step: Int, latitudeRange: Double = latitudeLimit)
        -> KVGeohashCell?
    {
        guard isValid(longitude: longitude, latitude: latitude), latitude >= -latitudeRange,
            latitude <= latitudeRange
        else { return nil }
        let cells = Double(UInt64(1) << UInt64(step))
        let latitudeOffset = (latitude + latitudeRange) / (2 * latitudeRange) * cells
        let longitudeOffset = (longitude + longitudeLimit) / (2 * longitudeLimit) * cells
        return KVGeohashCell(bits: spread(UInt32(latitudeOffset)) | spread(UInt32(longitudeOffset)) << 1, step: step)
    }

    /// The score of the point (a 52-bit cell); nil outside the square.
    static func score(longitude: Double, latitude: Double) -> UInt64? {
        encode(longitude: longitude, latitude: latitude, step: stepMax)?.bits
    }

    /// The cell's extent over redis' ranges.
    static func area(of cell: KVGeohashCell, latitudeRange: Double = latitudeLimit) -> KVGeohashArea {
        let latitudeCell = Double(squash(cell.bits))
        let longitudeCell = Double(squash(cell.bits >> 1))
        let cells = Double(UInt64(1) << UInt64(cell.step))
        let latitudeScale = 2 * latitudeRange
        let longitudeScale = 2 * longitudeLimit
        return KVGeohashArea(
            longitudeMin: -longitudeLimit + longitudeCell / cells * longitudeScale,
            longitudeMax: -longitudeLimit + (longitudeCell + 1) / cells * longitudeScale,
            latitudeMin: -latitudeRange + latitudeCell / cells * latitudeScale,
            latitudeMax: -latitudeRange + (latitudeCell + 1) / cells * latitudeScale)
    }

    /// The point a score stands for: its 52-bit cell's centre, kept inside
    /// the square. Any double is decoded as redis-server's C cast to a
    /// 64-bit unsigned integer reads it on x86-64.
    static func position(ofScore score: Double) -> (longitude: Double, latitude: Double) {
        let area = area(of: KVGeohashCell(bits: unsignedBits(score), step: stepMax))
        let longitude = (area.longitudeMin + area.longitudeMax) / 2
        let latitude = (area.latitudeMin + area.latitudeMax) / 2
        return (
            min(max(longitude, -longitudeLimit), longitudeLimit), min(max(latitude, -latitudeLimit), latitudeLimit)
        )
    }

    /// The 11-character standard geohash of a score (the 11th character
    /// always "0": 52 bits make 10 and a bit).
    static func standardText(ofScore score: Double) -> [UInt8] {
        let alphabet = Array("0123456789bcdefghjkmnpqrstuvwxyz".utf8)
        let (longitude, latitude) = position(ofScore: score)
        let bits = encode(longitude: longitude, latitude: latitude, step: stepMax, latitudeRange: 90)?.bits ?? 0
        var text = (0..<10).map { alphabet[Int((bits >> UInt64(52 - ($0 + 1) * 5)) & 0x1f)] }
        text.append(alphabet[0])
        return text
    }

    /// `value` converted as x86-64 code converts a double to uint64_t:
    /// below 2^63 through a signed conversion (so negative values wrap),
    /// from 2^63 by subtracting it first; what neither can hold (NaN, the
    /// infinities, beyond ±2^63 and 2^64) is the "integer indefinite",
    /// 2^63 or, for the upper path, 0.
    static func unsignedBits(_ value: Double) -> UInt64 {
        let twoTo63 = 9_223_372_036_854_775_808.0
        let indefinite = UInt64(1) << 63
        if !(value >= twoTo63) {
            guard value > -twoTo63 - 1, value < twoTo63 else { return indefinite }
            return UInt64(bitPattern: Int64(value))
        }
        let lowered = value - twoTo63
        guard lowered < twoTo63 else { return 0 }
        return UInt64(lowered) ^ indefinite
    }

    /// The even bits of `value` squeezed into the low 32.
    private static func squash(_ value: UInt64) -> UInt32 {
        var x = value & 0x5555_5555_5555_5555
        x = (x | x >> 1) & 0x3333_3333_3333_3333
        x = (x | x >> 2) & 0x0f0f_0f0f_0f0f_0f0f
        x = (x | x >> 4) & 0x00ff_00ff_00ff_00ff
        x = (x | x >> 8) & 0x0000_ffff_0000_ffff
        x = (x | x >> 16) & 0x0000_0000_ffff_ffff
        return UInt32(x)
    }

    /// The 32 bits of `value` spread onto the even bits.
    private static func spread(_ value: UInt32) -> UInt64 {
        var x = UInt64(value)
        x = (x | x << 16) & 0x0000_ffff_0000_ffff
        x = (x | x << 8) & 0x00ff_00ff_00ff_00ff
        x = (x | x << 4) & 0x0f0f_0f0f_0f0f_0f0f
        x = (x | x << 2) & 0x3333_3333_3333_3333
        x = (x | x << 1) & 0x5555_5555_5555_5555
        return x
    }

    // MARK: distances

    /// The great-circle distance in meters (haversine, redis' radius).
    static func distance(_ longitude1: Double, _ latitude1: Double, _ longitude2: Double, _ latitude2: Double)
        -> Double
    {
        let v = sin((longitude2 * radiansPerDegree - longitude1 * radiansPerDegree) / 2)
        // On one meridian the distance is the latitudes' alone.
        if v == 0 { return latitudeDistance(latitude1, latitude2) }
        let latitude1Radians = latitude1 * radiansPerDegree
        let latitude2Radians = latitude2 * radiansPerDegree
        let u = sin((latitude2Radians - latitude1Radians) / 2)
        let a = u * u + cos(latitude1Radians) * cos(latitude2Radians) * v * v
        return 2 * earthRadius * asin(a.squareRoot())
    }

    /// The distance in meters between two latitudes on one meridian.
    static func latitudeDistance(_ latitude1: Double, _ latitude2: Double) -> Double {
        earthRadius * abs(latitude2 * radiansPerDegree - latitude1 * radiansPerDegree)
    }

    // MARK: searching

    /// The cells to look in for `shape`: its centre's and the 8 around it
    /// (in redis-server's order: centre, N, S, E, W, NE, NW, SE, SW), those
    /// the shape cannot reach as `.none`.
    static func cells(covering shape: KVGeoShape) -> [KVGeohashCell] {
        let (height, width) = shape.halfExtents
        let latitudeDelta = height / earthRadius / radiansPerDegree
        let longitudeDeltaTop =
            width / earthRadius / cos((shape.latitude + latitudeDelta) * radiansPerDegree)
            / radiansPerDegree
        let longitudeDeltaBottom =
            width / earthRadius / cos((shape.latitude - latitudeDelta) * radiansPerDegree)
            / radiansPerDegree
        // The wider edge is the one nearer the equator.
        let longitudeDelta = shape.latitude < 0 ? longitudeDeltaBottom : longitudeDeltaTop
        let minLongitude = shape.longitude - longitudeDelta
        let maxLongitude = shape.longitude + longitudeDelta
        let minLatitude = shape.latitude - latitudeDelta
        let maxLatitude = shape.latitude + latitudeDelta

        var step = steps(forReach: shape.reach, latitude: shape.latitude)
        var centre = encode(longitude: shape.longitude, latitude: shape.latitude, step: step) ?? .none
        var around = neighbours(of: centre)
        // Near an edge of the centre's cell the estimate can be a cell too
        // fine for the neighbours to reach the shape's box: one coarser.
        let north = area(of: around[0])
        let south = area(of: around[1])
        let east = area(of: around[2])
        let west = area(of: around[3])
        if step > 1
            && (north.latitudeMax < maxLatitude || south.latitudeMin > minLatitude
                || east.longitudeMax < maxLongitude || west.longitudeMin > minLongitude)
        {
            step -= 1
            centre = encode(longitude: shape.longitude, latitude: shape.latitude, step: step) ?? .none
            around = neighbours(of: centre)
        }
        // Neighbours beyond the box are dropped.
        if step >= 2 {
            let area = area(of: centre)
            if area.latitudeMin < minLatitude { for index in [1, 7, 6] { around[index] = .none } }
            if area.latitudeMax > maxLatitude { for index in [0, 4, 5] { around[index] = .none } }
            if area.longitudeMin < minLongitude { for index in [3, 7, 5] { around[index] = .none } }
            if area.longitudeMax > maxLongitude { for index in [2, 6, 4] { around[index] = .none } }
        }
        return [centre] + around
    }

    /// N, S, E, W, NE, NW, SE, SW of `cell`.
    private static func neighbours(of cell: KVGeohashCell) -> [KVGeohashCell] {
        [(0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1)].map {
            cell.moved(dx: $0.0, dy: $0.1)
        }
    }

    /// The cell size for a shape reaching `meters` from its centre: the
    /// finest whose cells are still about that wide, coarser toward the
    /// poles where meridians converge.
    static func steps(forReach meters: Double, latitude: Double) -> Int {
        if meters == 0 { return stepMax }
        var range = meters
        var step = 1
        while range < mercatorMax {
            range *= 2
            step += 1
        }
        step -= 2
        if latitude > 66 || latitude < -66 {
            step -= 1
            if latitude > 80 || latitude < -80 { step -= 1 }
        }
        return min(max(step, 1), stepMax)
    }
}
