// Errno: a typed errno value. Syscall wrappers in this folder return it as a
// value on hot paths and throw it on cold paths; nothing else reads errno.

import CShims
import Glibc

/// An error number returned by a system call (`errno(3)`).
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The raw errno value, as in `<errno.h>`.
    public let rawValue: Int32

    /// Wraps a raw errno value.
    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Builds an `Errno` from a shim return value, which carries `-errno`.
    @inline(__always)
    init(negated value: Int) {
        assert(value < 0, "shim results are -errno on failure")
        self.rawValue = Int32(truncatingIfNeeded: -value)
    }

    /// `strerror(3)` text, e.g. "Address already in use".
    public var description: String {
        String(cString: strerror(rawValue))
    }

    public static let interrupted = Errno(rawValue: EINTR)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let badDescriptor = Errno(rawValue: EBADF)
    public static let addressInUse = Errno(rawValue: EADDRINUSE)
    public static let addressNotAvailable = Errno(rawValue: EADDRNOTAVAIL)
    public static let connectionReset = Errno(rawValue: ECONNRESET)
    public static let connectionAborted = Errno(rawValue: ECONNABORTED)
    public static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    public static let brokenPipe = Errno(rawValue: EPIPE)
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    public static let tooManyOpenFilesInSystem = Errno(rawValue: ENFILE)
    public static let noBufferSpace = Errno(rawValue: ENOBUFS)
    public static let outOfMemory = Errno(rawValue: ENOMEM)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let inProgress = Errno(rawValue: EINPROGRESS)
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    public static let protocolError = Errno(rawValue: EPROTO)
    public static let permissionDenied = Errno(rawValue: EPERM)
    public static let accessDenied = Errno(rawValue: EACCES)
    public static let notConnected = Errno(rawValue: ENOTCONN)
    public static let noSuchFile = Errno(rawValue: ENOENT)
}
