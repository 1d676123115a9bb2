// Zero heap allocations per echoed message (SPEC section 7), counted by
// keel-allocation-probe (bench/AllocationProbe): the loop thread's mallocs
// while echoing N messages must not grow with N, and the process's mallocs
// minus frees must come back to the same balance (nothing leaks per message).

import Foundation
import Testing

struct ProbeResult: Decodable {
    let messages: Int
    let loopThreadMallocs: Int
    let processMallocsMinusFrees: Int

    enum CodingKeys: String, CodingKey {
        case messages
        case loopThreadMallocs = "loop_thread_mallocs"
        case processMallocsMinusFrees = "process_mallocs_minus_frees"
    }
}

@Suite(.serialized) struct AllocationTests {
    static func probe(messages: Int, size: Int) throws -> ProbeResult {
        let child = try ChildProcess(arguments: ["\(messages)", "\(size)"], product: "KeelAllocationProbe")
        #expect(child.waitForExit(seconds: 120) == 0, "probe failed: \(child.standardError)")
        let text = child.standardOutputText
        return try JSONDecoder().decode(ProbeResult.self, from: Data(text.utf8))
    }

    @Test(arguments: [64, 10_240])
    func echoingAllocatesNothingPerMessage(size: Int) throws {
        // The interposer and sanitizers both replace malloc; they cannot share a process.
        try #require(ProcessInfo.processInfo.environment["KEEL_SANITIZER"] == nil)
        let small = try Self.probe(messages: 1_000, size: size)
        let large = try Self.probe(messages: 100_000, size: size)
        #expect(large.messages >= 99_000)
        #expect(
            large.loopThreadMallocs == small.loopThreadMallocs,
            "loop-thread mallocs: \(small.loopThreadMallocs) for \(small.messages) messages, \(large.loopThreadMallocs) for \(large.messages)"
        )
        #expect(large.loopThreadMallocs == 0, "after warm-up the loop allocates nothing at all")
        #expect(
            large.processMallocsMinusFrees == small.processMallocsMinusFrees,
            "outstanding allocations grow with the message count")
    }
}
