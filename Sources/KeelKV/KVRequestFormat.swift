// keel-kv's request limits, as redis-server's: a value (bulk string) of up to
// proto-max-bulk-len, 512 MiB by default, in a request of up to twice that
// (redis-server's client-query-buffer-limit is 1 GiB). Keel buffers a request
// only as its bytes arrive, so a high limit costs nothing until it is used.

import Keel

extension RESPFormat {
    /// Requests for keel-kv with values of up to `maxValueBytes`: a request
    /// may take twice that (the value and as much again for its key and
    /// other arguments), and at least 64 KiB more than one value.
    public static func keelKV(maxValueBytes: Int = 512 << 20) -> RESPFormat {
        RESPFormat(maxBulkBytes: maxValueBytes, maxRequestBytes: max(2 * maxValueBytes, maxValueBytes + (64 << 10)))
    }
}
