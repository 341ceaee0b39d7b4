import Logging
import Synchronization
import Testing

@testable import KumoControllers

/// The controllers' work queue: per-key dedup, one worker per key at a time, several workers at once, close.
@Suite struct WorkQueueTests {
    final class Log: Sendable {
        let state = Mutex<(active: Set<String>, overlaps: Int, handled: [String], maxConcurrent: Int)>(([], 0, [], 0))
    }

    @Test func severalWorkersNeverTwoOnOneKeyAndCloseWakesEveryWorker() async throws {
        let queue = WorkQueue()
        let log = Log()
        let worker = Task {
            await queue.process(logger: Logger(label: "test"), what: "test", workers: 4) { key in
                log.state.withLock { s in
                    if !s.active.insert(key).inserted { s.overlaps += 1 }
                    s.maxConcurrent = max(s.maxConcurrent, s.active.count)
                }
                try await Task.sleep(for: .milliseconds(20))
                log.state.withLock { s in
                    s.active.remove(key)
                    s.handled.append(key)
                }
            }
        }
        for i in 0..<8 { queue.add("k\(i)") }
        for _ in 0..<3 { queue.add("k0") }  // queued again while waiting or being handled
        let deadline = ContinuousClock.now + .seconds(10)
        while log.state.withLock({ Set($0.handled).count }) < 8 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(100))
        let s = log.state.withLock { $0 }
        #expect(Set(s.handled) == Set((0..<8).map { "k\($0)" }))
        #expect(s.overlaps == 0, "a key was handed to two workers at once")
        #expect(s.maxConcurrent > 1 && s.maxConcurrent <= 4, "\(s.maxConcurrent) at once")
        #expect(s.handled.filter { $0 == "k0" }.count <= 2, "requeues while queued fold into one, one more if it was active")
        queue.close()
        await worker.value  // every one of the 4 workers woke and returned
    }
}
