// The syscall wrappers. Each calls one shim function (which returns n or
// -errno) through `retrying`, the one place that retries EINTR, returns
// EAGAIN as a value, and stops the process on errnos that can only mean a
// bug in Keel (EBADF, EFAULT, EINVAL on calls whose arguments Keel builds),
// since carrying on would corrupt another connection's descriptor.
// keel-bench's load engine calls the same wrappers.

import CShims
import Glibc

/// Namespace for the system calls Keel's loop makes.
@usableFromInline
package enum Syscall {
    /// Runs `raw` until it is not interrupted: `.bytes(n)` when it returns
    /// n > 0, `zero` when 0, `.wouldBlock` on EAGAIN, `.failed` on other
    /// errnos, except those `isBug` names, which stop the process with
    /// `call` and `fd` named.
    @inlinable @inline(__always)
    package static func retrying(
        _ call: StaticString, _ fd: Int32, zero: @autoclosure () -> IOResult = .bytes(0),
        isBug: (Int32) -> Bool, _ raw: () -> Int
    ) -> IOResult {
        while true {
            let n = raw()
            if n > 0 { return .bytes(n) }
            if n == 0 { return zero() }
            let code = Int32(truncatingIfNeeded: -n)
            if code == EINTR { continue }
            if code == EAGAIN { return .wouldBlock }
            if isBug(code) { preconditionFailure("\(call)(\(fd)): \(Errno(rawValue: code))") }
            return .failed(Errno(rawValue: code))
        }
    }

    /// `read(2)` into `buffer`.
    @inlinable @inline(__always)
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        read(fd, into: buffer, raw: { keel_read(fd, buffer.baseAddress, buffer.count) })
    }

    /// The read(2) result handling, around `raw` (which returns n or -errno):
    /// the fault-injecting test backend passes a raw call that fails first.
    @inlinable @inline(__always)
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, raw: () -> Int) -> IOResult {
        retrying("read", fd, zero: buffer.isEmpty ? .bytes(0) : .endOfFile, isBug: { $0 == EBADF || $0 == EFAULT }, raw)
    }

    /// `send(2)` with MSG_NOSIGNAL.
    @inlinable @inline(__always)
    package static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        send(fd, bytes, raw: { keel_send(fd, bytes.baseAddress, bytes.count) })
    }

    /// The send(2) result handling, around `raw` (see `read(_:into:raw:)`).
    @inlinable @inline(__always)
    package static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, raw: () -> Int) -> IOResult {
        retrying("send", fd, isBug: isSendBug, raw)
    }

    /// Errnos of send(2), sendmsg(2) and accept4(2) that only a bug in Keel
    /// can cause.
    @inlinable @inline(__always)
    package static func isSendBug(_ code: Int32) -> Bool {
        code == EBADF || code == EFAULT || code == ENOTSOCK
    }

    /// `sendmsg(2)` over `count` iovecs with MSG_NOSIGNAL: writev without SIGPIPE.
    @inlinable @inline(__always)
    package static func sendv(_ fd: Int32, _ vectors: UnsafePointer<iovec>, count: Int32) -> IOResult {
        retrying("sendmsg", fd, isBug: isSendBug) { keel_sendv(fd, vectors, count) }
    }

    /// `sendmsg(2)` of two segments (the second may be empty) with MSG_NOSIGNAL.
    @inlinable @inline(__always)
    package static func send(
        _ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer
    ) -> IOResult {
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
    package static func accept(_ listener: Int32) -> AcceptResult {
        let accept4 = { Int(keel_accept4(listener, nil, nil, keel_SOCK_NONBLOCK | keel_SOCK_CLOEXEC)) }
        let result = retrying("accept4", listener, isBug: { isSendBug($0) || $0 == EINVAL }, accept4)
        switch result {
        case .bytes(let fd): return .accepted(Int32(fd))
        case .wouldBlock: return .wouldBlock
        case .failed(let errno): return .failed(errno)
        case .endOfFile: preconditionFailure("accept4 has no end of file")
        }
    }

    /// `close(2)`. EINTR is not retried: Linux has released the descriptor
    /// already, and retrying could close a descriptor another thread just got.
    @usableFromInline
    package static func close(_ fd: Int32) {
        let rc = keel_close(fd)
        precondition(rc != -EBADF, "close(\(fd)): descriptor was not open")
    }

    /// `shutdown(2)` of the sending side (SHUT_WR: the peer reads EOF once
    /// what was sent has arrived); ENOTCONN (peer already gone) is not an
    /// error here.
    @usableFromInline
    package static func shutdownWrites(_ fd: Int32) {
        let rc = keel_shutdown(fd, keel_SHUT_WR)
        precondition(rc != -EBADF, "shutdown(\(fd)): descriptor was not open")
    }

    /// TCP_NODELAY: replies are small and written at once; Nagle would hold them.
    @usableFromInline
    package static func setNoDelay(_ fd: Int32) {
        _ = keel_set_nodelay(fd)
    }

    /// Reads, and so resets, the 8-byte counter of an eventfd or timerfd,
    /// which ends its level-triggered readiness.
    @usableFromInline
    package static func drainCounter(_ fd: Int32) {
        var value: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &value) { keel_read(fd, $0.baseAddress, 8) }
    }

    /// CLOCK_MONOTONIC in nanoseconds (it never jumps).
    @inlinable
    package static func monotonicNanoseconds() -> Int64 {
        keel_monotonic_ns()
    }

    /// Asks malloc to give its free pages back to the kernel (malloc_trim).
    @usableFromInline
    package static func releaseFreeHeap() {
        keel_release_free_heap()
    }

    /// `value` as "%.17g" into `buffer` (NUL-terminated, as snprintf):
    /// the length it needed.
    @inlinable @inline(__always)
    package static func formatDouble(_ value: Double, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        Int(keel_format_double_g17(buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count, value))
    }

    /// mallopt(M_MXFAST, 0): no fast bins.
    package static func disableFastBins() {
        keel_disable_fast_bins()
    }
}
