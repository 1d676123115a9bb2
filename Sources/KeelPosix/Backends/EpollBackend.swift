// EpollBackend: epoll(7), the default backend; level-triggered unless
// edge-triggered mode is asked for, and then only for client sockets (the
// listener and the waker stay level-triggered: their handlers need no loop).
//
// Kernel behaviour relied on:
// - EPOLLERR and EPOLLHUP are always reported, whatever the interest; an
//   interest of 0 therefore parks a descriptor (how the listener is switched
//   off at the client limit) without removing it.
// - Closing a descriptor removes it from the epoll set (epoll(7), Q6) as long
//   as no duplicate of it is open, which Keel never makes: deregistering
//   before close is a wasted syscall, so `deregister` does nothing. Events
//   for it may still sit in the current batch; their token's generation no
//   longer matches and the loop drops them.

import CShims

/// The epoll backend.
@usableFromInline
package final class EpollBackend: EventBackend {
    @usableFromInline package static var name: String { "epoll" }
    @inlinable package static var triggersOnEdges: Bool { true }

    @usableFromInline package let epollFD: Int32
    @usableFromInline package let events: UnsafeMutableRawPointer
    @usableFromInline package let eventSize: Int
    @usableFromInline package let capacity: Int32
    @usableFromInline package let clientFlags: UInt32

    /// - Parameters:
    ///   - maxEvents: events taken per epoll_wait.
    ///   - edgeTriggered: register client sockets with EPOLLET.
    @usableFromInline
    package init(maxEvents: Int, edgeTriggered: Bool) throws(Errno) {
        clientFlags = edgeTriggered ? keel_EPOLLET : 0
        let fd = keel_epoll_create1(keel_EPOLL_CLOEXEC)
        guard fd >= 0 else { throw Errno(rawValue: -fd) }
        epollFD = fd
        capacity = Int32(clamping: maxEvents)
        eventSize = keel_epoll_event_size()
        events = .allocate(byteCount: eventSize * maxEvents, alignment: 8)
    }

    deinit {
        events.deallocate()
    }

    @inlinable @inline(__always)
    package func bits(_ interest: Interest, _ token: EventToken) -> UInt32 {
        var bits: UInt32 = token.slot < EventToken.firstReservedSlot ? clientFlags : 0
        if interest.contains(.read) { bits |= keel_EPOLLIN | keel_EPOLLRDHUP }
        if interest.contains(.write) { bits |= keel_EPOLLOUT }
        return bits
    }

    @usableFromInline
    package func register(fd: Int32, token: EventToken, interest: Interest) throws(Errno) {
        let rc = keel_epoll_ctl(epollFD, keel_EPOLL_CTL_ADD, fd, bits(interest, token), token.rawValue)
        if rc < 0 { throw Errno(rawValue: -rc) }
    }

    @inlinable
    package func modify(fd: Int32, token: EventToken, interest: Interest) {
        let rc = keel_epoll_ctl(epollFD, keel_EPOLL_CTL_MOD, fd, bits(interest, token), token.rawValue)
        // ENOENT/EBADF would mean the loop lost track of a descriptor: a bug.
        precondition(rc == 0, "epoll_ctl(MOD, \(fd)): \(Errno(rawValue: -rc))")
    }

    @inlinable
    package func deregister(fd: Int32, token: EventToken) {}

    @inlinable
    package func wait(timeoutMs: Int32) -> Int {
        let typed = events.assumingMemoryBound(to: epoll_event.self)
        while true {
            let n = keel_epoll_wait(epollFD, typed, capacity, timeoutMs)
            if n >= 0 { return Int(n) }
            // A signal (e.g. SIGINT delivered to this thread) interrupts the
            // wait; the loop re-checks its state on every return anyway.
            if n == -EINTR { return 0 }
            preconditionFailure("epoll_wait: \(Errno(rawValue: -n))")
        }
    }

    @inlinable @inline(__always)
    package func event(at index: Int) -> ReadyEvent {
        let typed = UnsafePointer(events.assumingMemoryBound(to: epoll_event.self))
        let bits = keel_epoll_event_events(typed, Int32(index))
        var readiness: Readiness = []
        if bits & keel_EPOLLIN != 0 { readiness.insert(.readable) }
        if bits & keel_EPOLLOUT != 0 { readiness.insert(.writable) }
        if bits & keel_EPOLLRDHUP != 0 { readiness.insert(.readHangup) }
        if bits & keel_EPOLLHUP != 0 { readiness.insert(.hangup) }
        if bits & keel_EPOLLERR != 0 { readiness.insert(.error) }
        return ReadyEvent(token: EventToken(rawValue: keel_epoll_event_data(typed, Int32(index))), readiness: readiness)
    }

    @usableFromInline
    package func close() {
        Syscall.close(epollFD)
    }
}
