import Foundation
import KumoModel
import KumoStore
import KumoTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct SQLiteStoreWatchTests {
    @Test func replaysFromAnOldRevisionThenFollowsLive() async throws {
        try await withStore { store, _ in
            var revisions: [Int64] = []
            for index in 0..<10 { revisions.append(try await store.create("w/\(index)", bytes("v\(index)"))) }
            try await store.create("other/x", bytes("not watched"))
            let since = revisions[2]
            let stream = try await store.watch(prefix: "w/", since: since)

            let replayed = try await take(7, from: stream)
            #expect(replayed.map(\.kv.modRevision) == Array(revisions[3...]))
            #expect(replayed.map(\.kv.key) == (3..<10).map { "w/\($0)" })
            #expect(replayed.allSatisfy { $0.type == .put && $0.isCreate && $0.kv.version == 1 })

            // Live, on the same stream.
            let updated = try await store.update("w/0", bytes("new"), ifModRevision: revisions[0])
            try await store.create("other/y", bytes("not watched"))
            let deleted = try await store.delete("w/1")
            let live = try await take(2, from: stream)
            #expect(live.count == 2)
            #expect(live[0] == WatchEvent(type: .put,
                                          kv: KeyValue(key: "w/0", value: bytes("new"), createRevision: revisions[0],
                                                       modRevision: updated, version: 2),
                                          isCreate: false))
            #expect(live[1].type == .delete)
            #expect(live[1].kv.key == "w/1")
            #expect(live[1].kv.modRevision == deleted)
        }
    }

    @Test func deleteEventCarriesTheLastValueLiveAndReplayed() async throws {
        try await withStore { store, _ in
            let created = try await store.create("d/key", bytes("first"))
            let start = try await store.currentRevision()
            let liveStream = try await store.watch(prefix: "d/", since: start)
            let updated = try await store.update("d/key", bytes("last"), ifModRevision: created)
            let deleted = try await store.delete("d/key")
            let expected = WatchEvent(
                type: .delete,
                kv: KeyValue(key: "d/key", value: bytes("last"), createRevision: created, modRevision: deleted,
                             version: 2),
                isCreate: false)
            let live = try await take(2, from: liveStream)
            #expect(live.map(\.kv.modRevision) == [updated, deleted])
            #expect(live.last == expected)

            let replayed = try await take(3, from: try await store.watch(prefix: "d/", since: 0))
            #expect(replayed.map(\.type) == [.put, .put, .delete])
            #expect(replayed.first?.isCreate == true)
            #expect(replayed.last == expected)
        }
    }

    /// 20 writers × 50 writes while watchers start from an old revision at different moments: each sees every
    /// revision exactly once, in order, across the replay → live switch. Small replay pages force many page reads.
    @Test func noGapsOrDuplicatesUnderConcurrentWrites() async throws {
        try await withStore(options: .init(maxBatch: 32, replayPageSize: 7)) { store, _ in
            for index in 0..<30 { try await store.create("c/pre/\(index)", bytes("p")) }
            let since = try await store.currentRevision() - 25
            let writers = 20
            let perWriter = 50
            let total = 25 + writers * perWriter

            let writes = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            for index in 0..<perWriter {
                                try await store.commit(Txn(operations: [.put("c/\(writer)/\(index)", bytes("x"))]))
                                try await Task.sleep(for: .microseconds(Int.random(in: 0...2_000)))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            // Watchers join while the writes are going on, and consume as they go.
            var consumers: [Task<[WatchEvent], any Error>] = []
            for delay in [0, 5, 20, 40, 80] {
                try await Task.sleep(for: .milliseconds(delay))
                let stream = try await store.watch(prefix: "c/", since: since)
                consumers.append(Task { try await take(total, from: stream, timeout: .seconds(20)) })
            }
            try await writes.value
            let expected = Array((since + 1)...(since + Int64(total)))
            for consumer in consumers {
                #expect(try await consumer.value.map(\.kv.modRevision) == expected)
            }
            #expect(try await store.currentRevision() == since + Int64(total))
        }
    }

    @Test func multiKeyTransactionIsDeliveredWholeAcrossReplayPages() async throws {
        try await withStore(options: .init(replayPageSize: 2)) { store, _ in
            let operations = (0..<5).map { Operation.put("m/\($0)", bytes("\($0)")) }
            let first = try await store.commit(Txn(operations: operations))
            let second = try await store.commit(Txn(operations: [.put("m/0", bytes("again"))]))
            let events = try await take(6, from: try await store.watch(prefix: "m/", since: 0))
            #expect(events.map(\.kv.modRevision) == [first, first, first, first, first, second])
            #expect(events.prefix(5).map(\.kv.key) == (0..<5).map { "m/\($0)" })
        }
    }

    @Test func compactionMakesOldRevisionsGone() async throws {
        try await withStore { store, _ in
            var revisions: [Int64] = []
            for index in 0..<10 { revisions.append(try await store.create("k/\(index)", bytes("\(index)"))) }
            let through = revisions[4]
            try await store.compact(through: through)
            #expect(try await store.status().compactedRevision == through)

            await expectKumoError(.gone) { _ = try await store.watch(prefix: "k/", since: through - 1) }
            await expectKumoError(.gone) { _ = try await store.watch(prefix: "", since: 0) }
            let events = try await take(5, from: try await store.watch(prefix: "k/", since: through))
            #expect(events.map(\.kv.modRevision) == Array(revisions[5...]))
            // Current state is kept.
            #expect(try await store.list(prefix: "k/", startAfter: nil, limit: nil).items.count == 10)

            // Idempotent; a future revision is refused.
            try await store.compact(through: revisions[2])
            #expect(try await store.status().compactedRevision == through)
            await expectKumoError(.invalid) { try await store.compact(through: revisions[9] + 100) }

            #expect(try await store.compact(keepingLast: 2) == revisions[9] - 2)
            #expect(try await store.status().compactedRevision == revisions[9] - 2)
            #expect(try await store.compact(keepingLast: 100) == nil)
        }
    }

    @Test func compactionDuringReplayEndsTheWatchWithGone() async throws {
        try await withStore(options: .init(replayPageSize: 4)) { store, _ in
            for index in 0..<40 { try await store.create("r/\(index)", bytes("\(index)")) }
            let stream = try await store.watch(prefix: "r/", since: 1)
            #expect(try await next(from: stream)?.kv.key == "r/0")
            try await store.compact(through: try await store.currentRevision())
            await expectStreamFails(stream, with: .gone)
        }
    }

    @Test func slowWatcherGetsGoneAndIsRemoved() async throws {
        try await withStore(options: .init(watchBufferLimit: 5)) { store, _ in
            let stream = try await store.watch(prefix: "s/", since: try await store.currentRevision())
            try await store.create("s/0", bytes("0"))
            #expect(try await next(from: stream)?.kv.key == "s/0")  // now following live events
            #expect(try await store.status().watchers == 1)
            for index in 1...20 { try await store.create("s/\(index)", bytes("\(index)")) }
            await expectStreamFails(stream, with: .gone)
            #expect(try await store.status().watchers == 0)

            // A consumer that keeps up is not affected by the same volume.
            let fast = try await store.watch(prefix: "s/", since: try await store.currentRevision())
            let reader = Task { try await take(50, from: fast) }
            for index in 21..<71 { try await store.create("s/\(index)", bytes("\(index)")) }
            #expect(try await reader.value.count == 50)
        }
    }

    @Test func longReplayDoesNotCountAsFallingBehind() async throws {
        try await withStore(options: .init(watchBufferLimit: 10, replayPageSize: 16)) { store, _ in
            for index in 0..<200 { try await store.create("h/\(index)", bytes("\(index)")) }
            let events = try await take(200, from: try await store.watch(prefix: "h/", since: 0))
            #expect(events.count == 200)
        }
    }

    @Test func cancellingTheConsumerRemovesTheWatcher() async throws {
        try await withStore { store, _ in
            let stream = try await store.watch(prefix: "", since: try await store.currentRevision())
            let consumer = Task {
                var count = 0
                for try await _ in stream { count += 1 }
                return count
            }
            try await store.create("a", bytes("1"))
            try await Task.sleep(for: .milliseconds(50))
            consumer.cancel()
            _ = try await withTimeout { try await consumer.value }
            try await withTimeout {
                while try await store.status().watchers != 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
            // Dropping an unconsumed stream removes its watcher too.
            do {
                let unused = try await store.watch(prefix: "", since: 0)
                _ = unused
                #expect(try await store.status().watchers == 1)
            }
            try await withTimeout {
                while try await store.status().watchers != 0 { try await Task.sleep(for: .milliseconds(5)) }
            }
        }
    }

    @Test func closingTheStoreEndsWatchesWithUnavailable() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory + "/s.sqlite", logger: quietLogger)
            let stream = try await store.watch(prefix: "", since: 1)
            try await store.create("a", bytes("1"))
            #expect(try await next(from: stream)?.kv.key == "a")
            await store.close()
            await expectStreamFails(stream, with: .unavailable)
        }
    }

    @Test func manyWatchersAllReceiveEveryEvent() async throws {
        try await withStore { store, _ in
            let start = try await store.currentRevision()
            let streams = try await (0..<200).asyncMap { index in
                try await store.watch(prefix: index % 2 == 0 ? "even/" : "", since: start)
            }
            for index in 0..<20 { try await store.create((index % 2 == 0 ? "even/" : "odd/") + "\(index)", []) }
            for (index, stream) in streams.enumerated() {
                let expected = index % 2 == 0 ? 10 : 20
                let events = try await take(expected, from: stream)
                #expect(events.count == expected)
            }
        }
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
