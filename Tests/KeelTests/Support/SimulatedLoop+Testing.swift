// What the suites add to SimulatedLoop: a shutdown that records a failure
// in the test that asked for it.

import Testing

@testable import Keel

extension SimulatedLoop {
    /// Shuts the loop down and releases its descriptors. Every test ends with this.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        if !shutDown() { Issue.record("the loop did not shut down", sourceLocation: sourceLocation) }
    }
}
