// Expiry amounts as redis-server checks them: SET's EX/PX/EXAT/PXAT, SETEX,
// GETEX, EXPIRE and its kin, each turned into a Unix time in milliseconds
// with the same overflow checks, so the same amounts are refused with the
// same "invalid expire time".

/// Expiry arithmetic (see the file header).
enum KVExpiry {
    /// How an amount is given.
    enum Kind {
        /// EX, EXPIRE, SETEX: seconds from now.
        case seconds
        /// PX, PEXPIRE, PSETEX: milliseconds from now.
        case milliseconds
        /// EXAT, EXPIREAT: a Unix time in seconds.
        case unixSeconds
        /// PXAT, PEXPIREAT: a Unix time in milliseconds.
        case unixMilliseconds

        var isRelative: Bool { self == .seconds || self == .milliseconds }
        var inSeconds: Bool { self == .seconds || self == .unixSeconds }
    }

    /// SET's (and SETEX's, GETEX's) deadline, or nil where redis-server
    /// answers "invalid expire time": an amount not above zero, or one whose
    /// conversion to milliseconds or addition to now overflows.
    static func setDeadline(_ amount: Int64, _ kind: Kind, nowMs: Int64) -> Int64? {
        guard amount > 0 else { return nil }
        var milliseconds = amount
        if kind.inSeconds {
            guard amount <= Int64.max / 1_000 else { return nil }
            milliseconds *= 1_000
        }
        guard kind.isRelative else { return milliseconds }
        let (at, overflow) = milliseconds.addingReportingOverflow(nowMs)
        return overflow ? nil : at
    }

    /// EXPIRE's family's deadline, or nil where redis-server answers
    /// "invalid expire time": seconds whose milliseconds leave Int64, or a
    /// sum past Int64.max. Negative amounts are allowed (the key goes).
    static func expireDeadline(_ amount: Int64, _ kind: Kind, nowMs: Int64) -> Int64? {
        var milliseconds = amount
        if kind.inSeconds {
            guard amount <= Int64.max / 1_000 && amount >= Int64.min / 1_000 else { return nil }
            milliseconds *= 1_000
        }
        guard kind.isRelative else { return milliseconds }
        guard milliseconds <= Int64.max - nowMs else { return nil }
        return milliseconds + nowMs
    }
}
