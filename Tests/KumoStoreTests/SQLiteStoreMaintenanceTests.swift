import Foundation
import KumoModel
import KumoStore
import Testing

@Suite(.timeLimit(.minutes(1))) struct SQLiteStoreMaintenanceTests {
    @Test func backupIsAConsistentCopyWhileWritesContinue() async throws {
        try await withStore(options: .init(maxBatch: 8)) { store, path in
            for index in 0..<100 { try await store.create("b/pre/\(index)", Array(repeating: UInt8(index), count: 200)) }
            try await store.compact(through: 20)
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path

            // One create per revision, so a consistent copy at revision R holds exactly the keys created up to R.
            let writes = Task {
                for index in 0..<400 { try await store.create("b/live/\(index)", bytes("\(index)")) }
            }
            try await Task.sleep(for: .milliseconds(10))
            let during = directory + "/backups/during.sqlite"
            try await store.backup(to: during)
            try await writes.value

            let copy = try SQLiteStore(path: during, logger: quietLogger)
            let revision = try await copy.currentRevision()
            let items = try await copy.list(prefix: "b/", startAfter: nil, limit: nil).items
            #expect(Int64(items.count) == revision - 1)
            #expect(items.allSatisfy { $0.modRevision <= revision })
            #expect(try await copy.status().compactedRevision == 20)
            for item in items {
                #expect(try await store.get(item.key) == item)
            }
            await copy.close()

            // Quiescent: an exact copy, and writable.
            let after = directory + "/backups/after.sqlite"
            try await store.backup(to: after)
            try await store.backup(to: after)  // replaces an existing file
            let exact = try SQLiteStore(path: after, logger: quietLogger)
            #expect(try await exact.currentRevision() == (try await store.currentRevision()))
            #expect(try await exact.list(prefix: "", startAfter: nil, limit: nil).items
                    == (try await store.list(prefix: "", startAfter: nil, limit: nil).items))
            let replayed = try await take(3, from: try await exact.watch(prefix: "b/live/", since: 21))
            #expect(replayed.count == 3)
            try await exact.create("b/new", bytes("n"))
            await exact.close()
            #expect(!FileManager.default.fileExists(atPath: after + ".partial"))

            await expectKumoError(.invalid) { try await store.backup(to: path) }
        }
    }

    @Test func statusReportsRevisionFilesAndWatchers() async throws {
        try await withStore { store, path in
            try await store.create("a", Array(repeating: 7, count: 10_000))
            let stream = try await store.watch(prefix: "", since: 0)
            let status = try await store.status()
            #expect(status.revision == 2)
            #expect(status.compactedRevision == 0)
            #expect(status.watchers == 1)
            #expect(status.pendingWrites == 0)
            #expect(status.databaseBytes > 0)
            #expect(status.walBytes > 0)
            let encoded = try JSONEncoder().encode(status)
            #expect(try JSONDecoder().decode(StoreStatus.self, from: encoded) == status)
            _ = stream
            _ = path
        }
    }

    @Test func synchronousFullStoreWorks() async throws {
        try await withStore(options: .init(synchronous: .full)) { store, _ in
            let revisions = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<50 { group.addTask { try await store.create("f/\(index)", bytes("\(index)")) } }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(Set(revisions).count == 50)
            #expect(try await store.list(prefix: "f/", startAfter: nil, limit: nil).items.count == 50)
        }
    }
}
