// PollBackend: poll(2), the portable fallback (the seeds' part 5b, done right).
//
// The pollfd array is dense: entries 0..<count are watched. Removing one
// moves the last entry into its place, so the array never has holes, and a
// per-token index (slot -> position) is kept in step with every move. The
// listener is parked with events = 0 rather than removed, as in the seed.
// Each wait copies the ready entries into a separate list first, so closes
// made while the loop handles that list cannot disturb it (the seed's
// in-place iteration had to special-case removal and could revisit entries).
//
// Cost: every wait hands the kernel all `count` entries and scans them all
// afterwards: O(connections) per wakeup, where epoll is O(ready).
//
// Invariants: for i < count, position(of: tokens[i]) == i; every registered
// token maps to exactly one position; count <= capacity.

import CShims
import Glibc

/// The poll(2) backend.
@usableFromInline
package final class PollBackend: EventBackend {
    @usableFromInline package static var name: String { "poll" }

    @usableFromInline package let capacity: Int
    @usableFromInline package let fds: UnsafeMutablePointer<pollfd>
    @usableFromInline package let tokens: UnsafeMutablePointer<EventToken>
    /// Position in `fds` of each client slot's entry, or -1.
    @usableFromInline package let clientPositions: UnsafeMutablePointer<Int32>
    @usableFromInline package let clientCapacity: Int
    /// Position of each reserved token's entry (listener, waker, deadline
    /// timer, and room for the rest of EventToken's reserved range), or -1.
    @usableFromInline package var reservedPositions = [Int32](repeating: -1, count: 16)
    @usableFromInline package var ready: UnsafeMutablePointer<ReadyEvent>
    @usableFromInline package var count = 0

    /// - Parameter maxClients: client slots; entries for the reserved tokens
    ///   (listener, waker, timer) are kept beside them.
    @usableFromInline
    package init(maxClients: Int) {
        clientCapacity = maxClients
        capacity = maxClients + reservedPositions.count
        fds = .allocate(capacity: capacity)
        tokens = .allocate(capacity: capacity)
        ready = .allocate(capacity: capacity)
        clientPositions = .allocate(capacity: maxClients)
        clientPositions.initialize(repeating: -1, count: maxClients)
    }

    deinit {
        fds.deallocate()
        tokens.deallocate()
        ready.deallocate()
        clientPositions.deallocate()
    }

    @inlinable @inline(__always)
    package static func events(_ interest: Interest) -> Int16 {
        var bits: Int16 = 0
        if interest.contains(.read) { bits |= keel_POLLIN | keel_POLLRDHUP }
        if interest.contains(.write) { bits |= keel_POLLOUT }
        return bits
    }

    @inlinable @inline(__always)
    package func position(of token: EventToken) -> Int32 {
        if token.slot >= EventToken.firstReservedSlot {
            return reservedPositions[Int(token.slot - EventToken.firstReservedSlot)]
        }
        return clientPositions[Int(token.slot)]
    }

    @inlinable @inline(__always)
    package func setPosition(_ position: Int32, of token: EventToken) {
        if token.slot >= EventToken.firstReservedSlot {
            reservedPositions[Int(token.slot - EventToken.firstReservedSlot)] = position
        } else {
            clientPositions[Int(token.slot)] = position
        }
    }

    @inlinable
    package func register(fd: Int32, token: EventToken, interest: Interest) throws(Errno) {
        precondition(count < capacity, "pollfd array full")
        precondition(position(of: token) < 0, "slot \(token.slot) registered twice")
        fds[count] = pollfd(fd: fd, events: Self.events(interest), revents: 0)
        tokens[count] = token
        setPosition(Int32(count), of: token)
        count += 1
    }

    @inlinable
    package func modify(fd: Int32, token: EventToken, interest: Interest) {
        let index = Int(position(of: token))
        precondition(index >= 0 && fds[index].fd == fd, "modify of an unregistered descriptor \(fd)")
        fds[index].events = Self.events(interest)
        tokens[index] = token
    }

    @inlinable
    package func deregister(fd: Int32, token: EventToken) {
        let index = Int(position(of: token))
        precondition(index >= 0 && fds[index].fd == fd, "deregister of an unregistered descriptor \(fd)")
        let last = count - 1
        if index != last {
            fds[index] = fds[last]
            tokens[index] = tokens[last]
            setPosition(Int32(index), of: tokens[index])
        }
        setPosition(-1, of: token)
        count = last
    }

    @inlinable
    package func wait(timeoutMs: Int32) -> Int {
        let n = keel_poll(fds, nfds_t(count), timeoutMs)
        if n == -EINTR { return 0 }
        precondition(n >= 0, "poll: \(Errno(rawValue: -n))")
        var found = 0
        var index = 0
        while found < n && index < count {
            let revents = fds[index].revents
            if revents != 0 {
                precondition(revents & keel_POLLNVAL == 0, "poll: descriptor \(fds[index].fd) is not open")
                ready[found] = ReadyEvent(token: tokens[index], readiness: Self.readiness(revents))
                found += 1
            }
            index += 1
        }
        return found
    }

    @inlinable @inline(__always)
    package static func readiness(_ revents: Int16) -> Readiness {
        var readiness: Readiness = []
        if revents & keel_POLLIN != 0 { readiness.insert(.readable) }
        if revents & keel_POLLOUT != 0 { readiness.insert(.writable) }
        if revents & keel_POLLRDHUP != 0 { readiness.insert(.readHangup) }
        if revents & keel_POLLHUP != 0 { readiness.insert(.hangup) }
        if revents & keel_POLLERR != 0 { readiness.insert(.error) }
        return readiness
    }

    @inlinable @inline(__always)
    package func event(at index: Int) -> ReadyEvent {
        ready[index]
    }

    @usableFromInline
    package func close() {}

    /// Checks the dense array and the position index against each other.
    @usableFromInline
    package func checkInvariants() {
        precondition(count >= 0 && count <= capacity)
        for index in 0..<count {
            precondition(position(of: tokens[index]) == Int32(index), "entry \(index) not indexed")
        }
        var mapped = 0
        for slot in 0..<clientCapacity where clientPositions[slot] >= 0 { mapped += 1 }
        for position in reservedPositions where position >= 0 { mapped += 1 }
        precondition(mapped == count, "\(mapped) tokens mapped, \(count) entries")
    }
}
