// The syscall wrappers. Each calls one shim function, retries EINTR inside,
// returns EAGAIN as a value, and stops the process on errnos that can only
// mean a bug in Keel (EBADF, EFAULT, EINVAL on calls whose arguments Keel
// builds), since carrying on would corrupt another connection's descriptor.

import CShims
import Glibc

/// Namespace for the system calls Keel's loop makes.
@usableFromInline
enum Syscall {
    /// `read(2)` into `buffer`.
    @inlinable @inline(__always)
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        read(fd, into: buffer, raw: { keel_read(fd, buffer.baseAddress, buffer.count) })
    }

    /// The read(2) result handling, around `raw` (which returns n or -errno):
    /// the fault-injecting test backend passes a raw call that fails first.
    @inlinable @inline(__always)
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, raw: () -> Int) -> IOResult {
        while true {
            let n = raw()
            if n > 0 { return .bytes(n) }
            if n == 0 { return buffer.isEmpty ? .bytes(0) : .endOfFile }
            switch Int32(-n) {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case EBADF, EFAULT: preconditionFailure("read(\(fd)): \(Errno(negated: n))")
            default: return .failed(Errno(negated: n))
            }
        }
    }

    /// `send(2)` with MSG_NOSIGNAL.
    @inlinable @inline(__always)
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        send(fd, bytes, raw: { keel_send(fd, bytes.baseAddress, bytes.count) })
    }

    /// The send(2) result handling, around `raw` (see `read(_:into:raw:)`).
    @inlinable @inline(__always)
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, raw: () -> Int) -> IOResult {
        while true {
            let n = raw()
            if n >= 0 { return .bytes(n) }
            switch Int32(-n) {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case EBADF, EFAULT, ENOTSOCK: preconditionFailure("send(\(fd)): \(Errno(negated: n))")
            default: return .failed(Errno(negated: n))
            }
        }
    }

    /// `sendmsg(2)` over `count` iovecs with MSG_NOSIGNAL: writev without SIGPIPE.
    @inlinable @inline(__always)
    static func sendv(_ fd: Int32, _ vectors: UnsafePointer<iovec>, count: Int32) -> IOResult {
        while true {
            let n = keel_sendv(fd, vectors, count)
            if n >= 0 { return .bytes(n) }
            switch Int32(-n) {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case EBADF, EFAULT, ENOTSOCK: preconditionFailure("sendmsg(\(fd)): \(Errno(negated: n))")
            default: return .failed(Errno(negated: n))
            }
        }
    }

    /// `sendmsg(2)` of two segments (the second may be empty) with MSG_NOSIGNAL.
    @inlinable @inline(__always)
    static func send(_ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
        if second.isEmpty { return send(fd, first) }
        var vectors = (
            iovec(iov_base: UnsafeMutableRawPointer(mutating: first.baseAddress), iov_len: first.count),
            iovec(iov_base: UnsafeMutableRawPointer(mutating: second.baseAddress), iov_len: second.count)
        )
        return withUnsafePointer(to: &vectors) { pair in
            pair.withMemoryRebound(to: iovec.self, capacity: 2) { sendv(fd, $0, count: 2) }
        }
    }

    /// `accept4(2)` with SOCK_NONBLOCK | SOCK_CLOEXEC; the peer address is dropped.
    @usableFromInline
    static func accept(_ listener: Int32) -> AcceptResult {
        while true {
            let fd = keel_accept4(listener, nil, nil, keel_SOCK_NONBLOCK | keel_SOCK_CLOEXEC)
            if fd >= 0 { return .accepted(fd) }
            switch -fd {
            case EINTR: continue
            case EAGAIN: return .wouldBlock
            case EBADF, EFAULT, ENOTSOCK, EINVAL: preconditionFailure("accept4(\(listener)): \(Errno(rawValue: -fd))")
            default: return .failed(Errno(rawValue: -fd))
            }
        }
    }

    /// `close(2)`. EINTR is not retried: Linux has released the descriptor
    /// already, and retrying could close a descriptor another thread just got.
    @usableFromInline
    static func close(_ fd: Int32) {
        let rc = keel_close(fd)
        precondition(rc != -EBADF, "close(\(fd)): descriptor was not open")
    }

    /// `shutdown(2)`; ENOTCONN (peer already gone) is not an error here.
    @usableFromInline
    static func shutdown(_ fd: Int32, how: Int32) {
        let rc = keel_shutdown(fd, how)
        precondition(rc != -EBADF, "shutdown(\(fd)): descriptor was not open")
    }

    /// TCP_NODELAY: replies are small and written at once; Nagle would hold them.
    @usableFromInline
    static func setNoDelay(_ fd: Int32) {
        _ = keel_set_nodelay(fd)
    }

    /// Reads, and so resets, the 8-byte counter of an eventfd or timerfd,
    /// which ends its level-triggered readiness.
    @usableFromInline
    static func drainCounter(_ fd: Int32) {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { keel_read(fd, $0.baseAddress, 8) }
    }

    /// CLOCK_MONOTONIC in nanoseconds (it never jumps).
    @inlinable
    static func monotonicNanoseconds() -> Int64 {
        keel_monotonic_ns()
    }

    /// Asks malloc to give its free pages back to the kernel (malloc_trim).
    @usableFromInline
    static func releaseFreeHeap() {
        keel_release_free_heap()
    }
}
