// Errno: a typed errno value. Syscall wrappers in this folder return it as a
// value on hot paths and throw it on cold paths; nothing else reads errno.

import CShims
import Glibc

/// An error number returned by a system call (`errno(3)`).
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The raw errno value, as in `<errno.h>`.
    public let rawValue: Int32

    /// Wraps a raw errno value.
    @inlinable
    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// Builds an `Errno` from a shim return value, which carries `-errno`.
    @inlinable
    package init(negated value: Int) {
        assert(value < 0, "shim results are -errno on failure")
        self.rawValue = Int32(truncatingIfNeeded: -value)
    }

    /// `strerror(3)` text, e.g. "Address already in use".
    public var description: String {
        String(cString: strerror(rawValue))
    }

    // The names are swift-system's (System.Errno), so code that uses both
    // reads the same.

    /// EINTR
    public static let interrupted = Errno(rawValue: EINTR)
    /// EAGAIN
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    /// EBADF
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    /// EADDRINUSE
    public static let addressInUse = Errno(rawValue: EADDRINUSE)
    /// EADDRNOTAVAIL
    public static let addressNotAvailable = Errno(rawValue: EADDRNOTAVAIL)
    /// ECONNRESET
    public static let connectionReset = Errno(rawValue: ECONNRESET)
    /// ECONNABORTED
    public static let connectionAbort = Errno(rawValue: ECONNABORTED)
    /// ECONNREFUSED
    public static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    /// EPIPE
    public static let brokenPipe = Errno(rawValue: EPIPE)
    /// EMFILE
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    /// ENFILE
    public static let tooManyOpenFilesInSystem = Errno(rawValue: ENFILE)
    /// ENOBUFS
    public static let noBufferSpace = Errno(rawValue: ENOBUFS)
    /// ENOMEM
    public static let noMemory = Errno(rawValue: ENOMEM)
    /// EINVAL
    public static let invalidArgument = Errno(rawValue: EINVAL)
    /// EINPROGRESS
    public static let nowInProgress = Errno(rawValue: EINPROGRESS)
    /// ETIMEDOUT
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    /// EPROTO
    public static let protocolError = Errno(rawValue: EPROTO)
    /// EPERM
    public static let notPermitted = Errno(rawValue: EPERM)
    /// EACCES. (Keel once spelled EPERM so; EPERM is `notPermitted`, as in swift-system.)
    public static let permissionDenied = Errno(rawValue: EACCES)
    /// ENOTCONN
    public static let socketNotConnected = Errno(rawValue: ENOTCONN)
    /// ENOENT
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
}
