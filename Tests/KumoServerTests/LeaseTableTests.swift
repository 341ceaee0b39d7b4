import Foundation
import KumoModel
import KumoStore
import KumoTestSupport
import Logging
import Testing

@testable import KumoServer

/// Node leases in memory, checkpointed to the store in batches, read back after a restart.
@Suite struct LeaseTableTests {
    @Test func renewalsAreMemoryUntilACheckpointWritesThemAllAndARestartReadsTheCheckpoint() async throws {
        let dir = temporaryPath("leases")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logger = Logger(label: "test")
        let store = try SQLiteStore(path: dir + "/s.sqlite", logger: logger)
        for n in ["n1", "n2"] {
            _ = try await store.commit(Txn(operations: [.put(ObjectRef(.node, name: n).storeKey, Sample.node(n).serialized())]))
        }
        let table = LeaseTable(store: store, logger: logger)
        let unknown = await kumoError { _ = try await table.renew("ghost", durationSeconds: 6, holder: "node/ghost") }
        #expect(unknown?.code == .notFound, "only a registered node has a lease")
        let bad = await kumoError { _ = try await table.renew("n1", durationSeconds: 0, holder: "node/n1") }
        #expect(bad?.code == .invalid && bad?.field == "durationSeconds")
        let head = try await store.currentRevision()
        _ = try await table.renew("n1", durationSeconds: 6, holder: "node/n1")
        _ = try await table.renew("n2", durationSeconds: 8, holder: "node/n2")
        _ = try await table.renew("n1", durationSeconds: 6, holder: "node/n1")
        #expect(try await store.currentRevision() == head, "a renewal writes nothing")
        #expect(try await table.get("n2")["durationSeconds"] == 8)
        #expect(try await table.all().count == 2)
        await table.checkpoint()
        #expect(try await store.currentRevision() == head + 1, "one checkpoint, one transaction for both")
        let stored = try await store.list(prefix: NodeLeases.prefix, startAfter: nil, limit: nil).items
        #expect(stored.count == 2)
        await table.checkpoint()
        #expect(try await store.currentRevision() == head + 1, "nothing renewed since: nothing written")

        // a restart: the new table reads the checkpoint; a renewal after it wins
        let restarted = LeaseTable(store: store, logger: logger)
        #expect(try await restarted.get("n2")["holder"] == "node/n2")
        let before = try await restarted.get("n1")["renewTime"]?.stringValue ?? ""
        try await Task.sleep(for: .milliseconds(5))
        _ = try await restarted.renew("n1", durationSeconds: 6, holder: "node/n1")
        #expect((try await restarted.get("n1")["renewTime"]?.stringValue ?? "") > before)
        await store.close()
    }
}
