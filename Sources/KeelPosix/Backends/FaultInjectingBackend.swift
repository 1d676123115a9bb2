// FaultInjectingBackend: wraps a real backend and, from a seeded generator,
// makes the kernel misbehave the ways TESTPLAN item 5 lists: EINTR before a
// call succeeds, one-byte and partial reads and writes, spurious EAGAIN,
// ECONNRESET/EPIPE mid-stream, accept failures (ECONNABORTED, EMFILE), and
// EPOLLERR|EPOLLHUP delivered together with EPOLLIN. Tests select it through
// Configuration.faultPlan; it is never used otherwise.
//
// Faults that end a connection (resets, hangups) are real from the loop's
// point of view; the others must be invisible to every client: echo output
// stays byte-identical.
//
// Compiled into debug builds only (the tests'): a release build carries no
// fault-injecting loop.

#if DEBUG

    import CShims
    import Glibc

    /// What to inject, in percent of calls (0...100), from `seed`.
    package struct FaultPlan: Sendable, Equatable, CustomStringConvertible {
        package var seed: UInt64
        /// Reads cut short (to one byte half the time). Level-triggered only:
        /// under EPOLLET Keel relies on epoll(7)'s rule for stream sockets that a
        /// short read means the socket was drained, which this fault breaks.
        package var partialReadPercent: Int
        /// Writes cut short (to one byte half the time).
        package var partialWritePercent: Int
        /// Calls that first fail with EINTR (retried inside the wrappers).
        package var interruptPercent: Int
        /// Reads and writes that report EAGAIN although the socket was ready.
        /// Only meaningful level-triggered: no kernel does this under EPOLLET.
        package var spuriousWouldBlockPercent: Int
        /// Reads that fail with ECONNRESET and writes that fail with EPIPE.
        package var connectionErrorPercent: Int
        /// Readable events that also carry EPOLLERR|EPOLLHUP.
        package var hangupPercent: Int
        /// Accepts that fail (the connection stays in the backlog), with one of
        /// `acceptErrors` chosen at random.
        package var acceptErrorPercent: Int
        /// The errors failed accepts report.
        package var acceptErrors: [Errno]
        /// Where the backends report what they injected when their loop stops.
        package var report = FaultReport()

        /// A plan; every fault not named is off. (Spelled out, with the
        /// defaults: a memberwise initialiser would not be visible outside
        /// this module.)
        package init(
            seed: UInt64, partialReadPercent: Int = 0, partialWritePercent: Int = 0, interruptPercent: Int = 0,
            spuriousWouldBlockPercent: Int = 0, connectionErrorPercent: Int = 0, hangupPercent: Int = 0,
            acceptErrorPercent: Int = 0, acceptErrors: [Errno] = [.connectionAbort, .tooManyOpenFiles]
        ) {
            self.seed = seed
            self.partialReadPercent = partialReadPercent
            self.partialWritePercent = partialWritePercent
            self.interruptPercent = interruptPercent
            self.spuriousWouldBlockPercent = spuriousWouldBlockPercent
            self.connectionErrorPercent = connectionErrorPercent
            self.hangupPercent = hangupPercent
            self.acceptErrorPercent = acceptErrorPercent
            self.acceptErrors = acceptErrors
        }

        package var description: String {
            "seed \(seed): short reads \(partialReadPercent)%, short writes \(partialWritePercent)%, EINTR \(interruptPercent)%, EAGAIN \(spuriousWouldBlockPercent)%, "
                + "errors \(connectionErrorPercent)%, hangups \(hangupPercent)%, accept errors \(acceptErrorPercent)%"
        }
    }

    /// Collects what the fault-injecting backends of one server injected.
    package final class FaultReport: Sendable, Equatable {
        package let injected = Locked(InjectedFaults())

        package static func == (lhs: FaultReport, rhs: FaultReport) -> Bool { lhs === rhs }
    }

    /// How many faults a FaultInjectingBackend injected (tests check they happened).
    package struct InjectedFaults: Sendable, Equatable {
        package var partial = 0
        package var interrupts = 0
        package var wouldBlocks = 0
        package var connectionErrors = 0
        package var hangups = 0
        package var acceptErrors = 0

        package var total: Int { partial + interrupts + wouldBlocks + connectionErrors + hangups + acceptErrors }
    }

    /// A backend that forwards to `Base` and injects faults per its plan.
    @usableFromInline
    package final class FaultInjectingBackend<Base: EventBackend>: EventBackend {
        @usableFromInline package static var name: String { Base.name }
        @usableFromInline package static var triggersOnEdges: Bool { Base.triggersOnEdges }

        package let base: Base
        package let plan: FaultPlan
        private var state: UInt64
        private(set) var injected = InjectedFaults()

        package init(base: Base, plan: FaultPlan) {
            self.base = base
            self.plan = plan
            state = plan.seed | 1
        }

        private func roll(_ percent: Int) -> Bool {
            guard percent > 0 else { return false }
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % 100) < percent
        }

        private func shortened(_ count: Int) -> Int {
            guard count > 1 else { return count }
            return roll(50) ? 1 : 1 + Int((state >> 20) % UInt64(count - 1))
        }

        /// A raw call that fails with EINTR first when the plan says so.
        private func interrupting(_ call: @escaping () -> Int) -> () -> Int {
            if roll(plan.interruptPercent) {
                injected.interrupts += 1
                var first = true
                return {
                    if first {
                        first = false
                        return -Int(EINTR)
                    }
                    return call()
                }
            }
            return call
        }

        // MARK: readiness

        @usableFromInline
        package func register(fd: Int32, token: EventToken, interest: Interest) throws(Errno) {
            try base.register(fd: fd, token: token, interest: interest)
        }

        @usableFromInline
        package func modify(fd: Int32, token: EventToken, interest: Interest) {
            base.modify(fd: fd, token: token, interest: interest)
        }

        @usableFromInline
        package func deregister(fd: Int32, token: EventToken) {
            base.deregister(fd: fd, token: token)
        }

        @usableFromInline
        package func wait(timeoutMs: Int32) -> Int {
            base.wait(timeoutMs: timeoutMs)
        }

        @usableFromInline
        package func event(at index: Int) -> ReadyEvent {
            let event = base.event(at: index)
            guard event.token.slot < EventToken.firstReservedSlot, event.readiness.contains(.readable),
                roll(plan.hangupPercent)
            else { return event }
            injected.hangups += 1
            return ReadyEvent(token: event.token, readiness: event.readiness.union([.error, .hangup]))
        }

        @usableFromInline
        package func close() {
            let mine = injected
            plan.report.injected.withLock { total in
                total.partial += mine.partial
                total.interrupts += mine.interrupts
                total.wouldBlocks += mine.wouldBlocks
                total.connectionErrors += mine.connectionErrors
                total.hangups += mine.hangups
                total.acceptErrors += mine.acceptErrors
            }
            base.close()
        }

        @usableFromInline
        package func checkInvariants() {
            base.checkInvariants()
        }

        // MARK: I/O

        @usableFromInline
        package func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
            if roll(plan.connectionErrorPercent) {
                injected.connectionErrors += 1
                return .failed(.connectionReset)
            }
            if roll(plan.spuriousWouldBlockPercent) {
                injected.wouldBlocks += 1
                return .wouldBlock
            }
            var count = buffer.count
            if roll(plan.partialReadPercent) {
                injected.partial += 1
                count = shortened(count)
            }
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[..<count])
            return Syscall.read(fd, into: target, raw: interrupting { keel_read(fd, target.baseAddress, target.count) })
        }

        @usableFromInline
        package func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> IOResult {
            send(fd, bytes, UnsafeRawBufferPointer(start: nil, count: 0))
        }

        @usableFromInline
        package func send(_ fd: Int32, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) -> IOResult {
            if roll(plan.connectionErrorPercent) {
                injected.connectionErrors += 1
                return .failed(.brokenPipe)
            }
            if roll(plan.spuriousWouldBlockPercent) {
                injected.wouldBlocks += 1
                return .wouldBlock
            }
            guard roll(plan.partialWritePercent) else {
                if second.isEmpty {
                    return Syscall.send(fd, first, raw: interrupting { keel_send(fd, first.baseAddress, first.count) })
                }
                return Syscall.send(fd, first, second)
            }
            injected.partial += 1
            // Offer only a prefix of the first segment: the loop must keep the rest in order.
            let prefix = UnsafeRawBufferPointer(rebasing: first[..<shortened(first.count)])
            return Syscall.send(fd, prefix, raw: interrupting { keel_send(fd, prefix.baseAddress, prefix.count) })
        }

        @usableFromInline
        package func accept(_ listener: Int32) -> AcceptResult {
            if roll(plan.acceptErrorPercent) {
                injected.acceptErrors += 1
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return .failed(plan.acceptErrors[Int((state >> 33) % UInt64(plan.acceptErrors.count))])
            }
            return Syscall.accept(listener)
        }
    }
#endif
