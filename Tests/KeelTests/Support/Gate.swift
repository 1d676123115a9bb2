// Gate: holds whoever passes until the test opens it, and tells the test
// when someone is held, so a test waits for a thread to reach a point
// instead of sleeping and hoping it has.

import Foundation

/// A gate that blocks whoever passes until it is opened.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false
    private var held = 0

    /// Lets everyone through, now and later.
    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until opened (for at most 30 s, so a failing test cannot hang).
    func pass() {
        condition.lock()
        held += 1
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: 30)
        while !isOpen && condition.wait(until: deadline) {}
        held -= 1
        condition.unlock()
    }

    /// Waits (at most 30 s) until someone is held at the gate; false if nobody came.
    func awaitHeld() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: 30)
        while held == 0 && condition.wait(until: deadline) {}
        return held > 0
    }
}
