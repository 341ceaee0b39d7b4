import Foundation
import KumoModel
import KumoStore
import KumoTestSupport
import Testing

@Suite(.timeLimit(.minutes(1))) struct SQLiteStoreKeyValueTests {
    @Test func freshStoreStartsAtRevisionOneAndFirstWriteGetsTwo() async throws {
        try await withStore { store, _ in
            #expect(try await store.currentRevision() == 1)
            let revision = try await store.create("a", bytes("1"))
            #expect(revision == 2)
            #expect(try await store.currentRevision() == 2)
        }
    }

    @Test func createGetUpdateDeleteSemantics() async throws {
        try await withStore { store, _ in
            let created = try await store.create("things/a", bytes("one"))
            let kv = try #require(try await store.get("things/a"))
            #expect(kv == KeyValue(key: "things/a", value: bytes("one"), createRevision: created,
                                   modRevision: created, version: 1))
            #expect(try await store.get("things/missing") == nil)

            await expectKumoError(.alreadyExists, field: "things/a") {
                try await store.create("things/a", bytes("again"))
            }

            let updated = try await store.update("things/a", bytes("two"), ifModRevision: created)
            #expect(updated == created + 1)
            let after = try #require(try await store.get("things/a"))
            #expect(after.value == bytes("two"))
            #expect(after.createRevision == created)
            #expect(after.modRevision == updated)
            #expect(after.version == 2)

            await expectKumoError(.conflict, field: "things/a") {
                try await store.update("things/a", bytes("stale"), ifModRevision: created)
            }
            await expectKumoError(.notFound, field: "things/nope") {
                try await store.update("things/nope", bytes("x"), ifModRevision: 0)
            }
            await expectKumoError(.conflict, field: "things/a") {
                try await store.delete("things/a", ifModRevision: created)
            }
            #expect(try await store.get("things/a")?.value == bytes("two"))

            let deleted = try await store.delete("things/a", ifModRevision: updated)
            #expect(deleted == updated + 1)
            #expect(try await store.get("things/a") == nil)
            await expectKumoError(.notFound, field: "things/a") { try await store.delete("things/a") }

            // Re-creation starts a new incarnation.
            let recreated = try await store.create("things/a", bytes("three"))
            let again = try #require(try await store.get("things/a"))
            #expect(again.createRevision == recreated)
            #expect(again.version == 1)
        }
    }

    @Test func emptyAndBinaryValuesRoundTrip() async throws {
        try await withStore { store, _ in
            try await store.create("empty", [])
            let binary: [UInt8] = [0, 255, 1, 254, 0, 0, 10]
            try await store.create("binary", binary)
            #expect(try await store.get("empty")?.value == [])
            #expect(try await store.get("binary")?.value == binary)
            try await store.delete("empty")
            #expect(try await store.get("empty") == nil)
        }
    }

    @Test func multiOperationTxnSharesOneRevisionAndIsAtomic() async throws {
        try await withStore { store, _ in
            try await store.create("x/existing", bytes("e"))
            let revision = try await store.commit(
                Txn(compares: [.absent("x/a"), .exists("x/existing")],
                    operations: [.put("x/a", bytes("a")), .put("x/b", bytes("b")), .delete("x/existing")]))
            let list = try await store.list(prefix: "x/", startAfter: nil, limit: nil)
            #expect(list.items.map(\.key) == ["x/a", "x/b"])
            #expect(list.items.allSatisfy { $0.modRevision == revision })
            #expect(list.revision == revision)

            // The second compare fails: nothing of the txn is applied and no revision is used.
            await expectKumoError(.conflict, field: "x/b") {
                try await store.commit(
                    Txn(compares: [.exists("x/a"), .absent("x/b")],
                        operations: [.put("x/c", bytes("c")), .delete("x/a")]))
            }
            #expect(try await store.currentRevision() == revision)
            #expect(try await store.get("x/c") == nil)
            #expect(try await store.get("x/a") != nil)

            await expectKumoError(.conflict, field: "x/a") {
                try await store.commit(Txn(compares: [.modRevision("x/a", equals: revision - 1)],
                                           operations: [.put("x/a", bytes("no"))]))
            }
            // mod revision 0 means absent, as in etcd.
            let created = try await store.commit(
                Txn(compares: [.modRevision("x/new", equals: 0)], operations: [.put("x/new", bytes("n"))]))
            #expect(created == revision + 1)
        }
    }

    @Test func invalidAndNoOpTransactions() async throws {
        try await withStore { store, _ in
            let start = try await store.currentRevision()
            await expectKumoError(.invalid, field: "k") {
                try await store.commit(Txn(operations: [.put("k", bytes("1")), .delete("k")]))
            }
            await expectKumoError(.invalid) { try await store.commit(Txn(operations: [.put("", bytes("1"))])) }
            // Deleting an absent key is a no-op and allocates no revision.
            #expect(try await store.commit(Txn(operations: [.delete("absent")])) == start)
            #expect(try await store.commit(Txn(compares: [.absent("absent")], operations: [])) == start)
            #expect(try await store.currentRevision() == start)
            // A delete of an absent key next to a real write shares its revision and produces no change.
            let revision = try await store.commit(Txn(operations: [.delete("absent"), .put("k", bytes("1"))]))
            #expect(revision == start + 1)
        }
    }

    @Test func revisionsAreMonotonicAndUniqueUnderConcurrency() async throws {
        try await withStore { store, _ in
            var last = try await store.currentRevision()
            for index in 0..<20 {
                let revision = try await store.create("seq/\(index)", bytes("\(index)"))
                #expect(revision == last + 1)
                last = revision
            }
            let revisions = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<200 {
                    group.addTask { try await store.create("par/\(index)", bytes("\(index)")) }
                }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(Set(revisions).count == 200)
            #expect(revisions.min() == last + 1)
            #expect(revisions.max() == last + 200)
            #expect(try await store.currentRevision() == last + 200)
        }
    }

    @Test func listByPrefixWithPaging() async throws {
        try await withStore { store, _ in
            for key in ["a/3", "a/1", "b/1", "a/5", "a/2", "a/4", "ab", "a"] {
                try await store.create(key, bytes(key))
            }
            let all = try await store.list(prefix: "a/", startAfter: nil, limit: nil)
            #expect(all.items.map(\.key) == ["a/1", "a/2", "a/3", "a/4", "a/5"])
            #expect(all.items.map(\.value) == all.items.map { bytes($0.key) })
            #expect(all.more == false)
            #expect(all.revision == (try await store.currentRevision()))

            let first = try await store.list(prefix: "a/", startAfter: nil, limit: 2)
            #expect(first.items.map(\.key) == ["a/1", "a/2"])
            #expect(first.more)
            let second = try await store.list(prefix: "a/", startAfter: first.items.last?.key, limit: 2)
            #expect(second.items.map(\.key) == ["a/3", "a/4"])
            #expect(second.more)
            let third = try await store.list(prefix: "a/", startAfter: second.items.last?.key, limit: 2)
            #expect(third.items.map(\.key) == ["a/5"])
            #expect(third.more == false)
            let exact = try await store.list(prefix: "a/", startAfter: "a/3", limit: 2)
            #expect(exact.items.map(\.key) == ["a/4", "a/5"])
            #expect(exact.more == false)

            let everything = try await store.list(prefix: "", startAfter: nil, limit: nil)
            #expect(everything.items.map(\.key) == ["a", "a/1", "a/2", "a/3", "a/4", "a/5", "ab", "b/1"])
            #expect(try await store.list(prefix: "zzz", startAfter: nil, limit: 10).items.isEmpty)
            await expectKumoError(.invalid, field: "limit") {
                _ = try await store.list(prefix: "a/", startAfter: nil, limit: -1)
            }

            // The list revision moves with writes.
            let before = try await store.list(prefix: "b/", startAfter: nil, limit: nil).revision
            try await store.create("c", bytes("c"))
            #expect(try await store.list(prefix: "b/", startAfter: nil, limit: nil).revision == before + 1)
        }
    }

    @Test func concurrentCASIncrementsLoseNothing() async throws {
        try await withStore(options: .init(maxBatch: 16)) { store, _ in
            try await store.create("counter", bytes("0"))
            let tasks = 10
            let increments = 20
            let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        var conflicts = 0
                        for _ in 0..<increments {
                            while true {
                                let current = try #require(try await store.get("counter"))
                                let value = Int(String(decoding: current.value, as: UTF8.self)) ?? -1_000_000
                                do {
                                    try await store.update(
                                        "counter", bytes("\(value + 1)"), ifModRevision: current.modRevision)
                                    break
                                } catch let error as KumoError where error.code == .conflict {
                                    conflicts += 1
                                }
                            }
                        }
                        return conflicts
                    }
                }
                return try await group.reduce(0, +)
            }
            let final = try #require(try await store.get("counter"))
            #expect(String(decoding: final.value, as: UTF8.self) == "\(tasks * increments)")
            #expect(final.version == Int64(tasks * increments + 1))
            _ = conflicts
        }
    }

    @Test func stateSurvivesCloseAndReopen() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/nested/dir/kumo.sqlite"
            let store = try SQLiteStore(path: path, logger: quietLogger)
            for index in 0..<10 { try await store.create("k/\(index)", bytes("v\(index)")) }
            try await store.delete("k/3")
            try await store.compact(through: 5)
            let revision = try await store.currentRevision()
            await store.close()

            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600)

            let reopened = try SQLiteStore(path: path, logger: quietLogger)
            #expect(try await reopened.currentRevision() == revision)
            let status = try await reopened.status()
            #expect(status.compactedRevision == 5)
            #expect(status.revision == revision)
            let list = try await reopened.list(prefix: "k/", startAfter: nil, limit: nil)
            #expect(list.items.count == 9)
            #expect(try await reopened.get("k/9")?.value == bytes("v9"))
            #expect(try await reopened.create("k/new", bytes("n")) == revision + 1)
            await expectKumoError(.gone) { _ = try await reopened.watch(prefix: "k/", since: 4) }
            await reopened.close()
        }
    }

    @Test func closedStoreRefusesWork() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore(path: directory + "/s.sqlite", logger: quietLogger)
            try await store.create("a", bytes("1"))
            await store.close()
            await store.close()  // idempotent
            await expectKumoError(.unavailable) { try await store.create("b", bytes("2")) }
            await expectKumoError(.unavailable) { _ = try await store.get("a") }
            await expectKumoError(.unavailable) { _ = try await store.watch(prefix: "", since: 0) }
        }
    }
}
