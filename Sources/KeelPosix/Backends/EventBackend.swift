// EventBackend: the seam between the event loop and the kernel's readiness
// API, in the manner of Redis's ae_epoll.c/ae_select.c: a handful of calls
// that every backend implements the same way. The loop is generic over it,
// so the per-event path is specialised and has no dynamic dispatch.
//
// Socket I/O and the clock go through the backend too (with default
// implementations that call the kernel), so a test backend can script faults
// on reads, writes and accepts, or set the time the loop sees, without
// touching the loop.

/// What the kernel reported for one descriptor.
@usableFromInline
package struct Readiness: OptionSet {
    @usableFromInline package let rawValue: UInt8
    @inlinable package init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Data (or EOF) can be read.
    @inlinable package static var readable: Self { Readiness(rawValue: 1 << 0) }
    /// The socket can take more bytes.
    @inlinable package static var writable: Self { Readiness(rawValue: 1 << 1) }
    /// The peer shut down its sending side (EPOLLRDHUP/POLLRDHUP).
    @inlinable package static var readHangup: Self { Readiness(rawValue: 1 << 2) }
    /// The connection is gone both ways (EPOLLHUP/POLLHUP).
    @inlinable package static var hangup: Self { Readiness(rawValue: 1 << 3) }
    /// An error is pending on the socket (EPOLLERR/POLLERR).
    @inlinable package static var error: Self { Readiness(rawValue: 1 << 4) }
}

/// One ready descriptor: the token it was registered with and what it is ready for.
@usableFromInline
package struct ReadyEvent {
    @usableFromInline package let token: EventToken
    @usableFromInline package let readiness: Readiness

    @inlinable
    package init(token: EventToken, readiness: Readiness) {
        self.token = token
        self.readiness = readiness
    }
}

/// A readiness notification mechanism (epoll, poll) plus socket I/O.
@usableFromInline
package protocol EventBackend: AnyObject {
    /// The name shown in logs and selected by configuration ("epoll", "poll").
    static var name: String { get }
    /// Whether the backend can report readiness on edges (epoll's EPOLLET).
    /// Where it cannot, a loop's edge-triggered code is compiled out.
    static var triggersOnEdges: Bool { get }

    /// Starts watching `fd` for `interest`; events carry `token`.
    func register(fd: Int32, token: EventToken, interest: Interest) throws(Errno)
    /// Changes the interest of a registered descriptor.
    func modify(fd: Int32, token: EventToken, interest: Interest)
    /// Stops watching `fd`; called before the descriptor is closed.
    func deregister(fd: Int32, token: EventToken)
    /// Blocks until events arrive or `timeoutMs` passes (-1: no timeout).
    /// Returns how many events `event(at:)` can read.
    func wait(timeoutMs: Int32) -> Int
    /// The `index`-th event of the last wait.
    func event(at index: Int) -> ReadyEvent
    /// Releases the backend's own descriptors.
    func close()
    /// Checks the backend's own bookkeeping (tests call it every iteration).
    func checkInvariants()

    /// read(2) into `buffer`.
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult
    /// send(2) of `bytes` without SIGPIPE.
    func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> IOResult
    /// sendmsg(2) of two segments (the second may be empty) without SIGPIPE.
    func send(_ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult
    /// accept4(2) of one pending connection.
    func accept(_ listener: Int32) -> AcceptResult
    /// The monotonic clock (CLOCK_MONOTONIC, in nanoseconds), which the loop
    /// reads once after each wait.
    func monotonicNanoseconds() -> Int64
}

extension EventBackend {
    @inlinable
    package static var triggersOnEdges: Bool { false }

    @inlinable
    package func checkInvariants() {}

    @inlinable @inline(__always)
    package func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        Syscall.read(fd, into: buffer)
    }

    @inlinable @inline(__always)
    package func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        Syscall.send(fd, bytes)
    }

    @inlinable @inline(__always)
    package func send(_ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
        Syscall.send(fd, first, second)
    }

    @usableFromInline
    package func accept(_ listener: Int32) -> AcceptResult {
        Syscall.accept(listener)
    }

    @inlinable @inline(__always)
    package func monotonicNanoseconds() -> Int64 {
        Syscall.monotonicNanoseconds()
    }
}
