// TimeoutList (TESTPLAN item 4) with an injected clock.

import KeelTestSupport
import Testing

@testable import Keel

@Suite struct TimeoutListTests {
    @Test func touchMovesToTheTailAndExpiryStopsAtTheFirstFutureDeadline() {
        let list = TimeoutList(capacity: 8, timeoutMs: 100)
        list.touch(0, nowMs: 1_000)
        list.touch(1, nowMs: 1_010)
        list.touch(2, nowMs: 1_020)
        list.checkInvariants()
        #expect(list.members() == [0, 1, 2])
        list.touch(0, nowMs: 1_050)
        #expect(list.members() == [1, 2, 0])
        #expect(list.earliestDeadlineMs == 1_110)
        #expect(list.popExpired(nowMs: 1_109) == nil)
        #expect(list.popExpired(nowMs: 1_120) == 1)
        #expect(list.popExpired(nowMs: 1_120) == 2)
        #expect(list.popExpired(nowMs: 1_120) == nil, "slot 0 expires at 1150")
        list.remove(0)
        list.remove(0)
        #expect(list.count == 0 && list.earliestDeadlineMs == nil)
        list.checkInvariants()
    }

    @Test func randomOperationsKeepTheListSortedAndConsistent() {
        let capacity = 256
        let list = TimeoutList(capacity: capacity, timeoutMs: 50)
        var random = SeededRandom(seed: 7)
        var now: Int64 = 0
        var model: [UInt32: Int64] = [:]
        for step in 0..<20_000 {
            now += Int64(random.next() % 3)
            let slot = UInt32(random.next() % UInt64(capacity))
            switch random.next() % 3 {
            case 0:
                list.touch(slot, nowMs: now)
                model[slot] = now + 50
            case 1:
                list.remove(slot)
                model[slot] = nil
            default:
                while let expired = list.popExpired(nowMs: now) {
                    #expect(model[expired]! <= now, "step \(step): expired early")
                    model[expired] = nil
                }
                #expect(model.values.allSatisfy { $0 > now }, "step \(step): an expired member was left")
            }
            #expect(list.count == model.count)
            if step % 97 == 0 { list.checkInvariants() }
        }
        list.checkInvariants()
    }

    @Test func thousandsOfIdleClientsExpireTogetherAndActiveOnesNever() {
        let capacity = 5_000
        let list = TimeoutList(capacity: capacity, timeoutMs: 1_000)
        for slot in 0..<UInt32(capacity) { list.touch(slot, nowMs: 0) }
        // The first 100 keep sending: touched every 100 ms.
        var closed = Set<UInt32>()
        var now: Int64 = 0
        while now <= 1_100 {
            for slot in 0..<UInt32(100) { list.touch(slot, nowMs: now) }
            while let slot = list.popExpired(nowMs: now) { closed.insert(slot) }
            now += 100
        }
        #expect(closed.count == capacity - 100, "every idle client is closed within timeout + one tick")
        #expect(closed.isDisjoint(with: 0..<100), "no active client is closed")
        list.checkInvariants()
    }
}
