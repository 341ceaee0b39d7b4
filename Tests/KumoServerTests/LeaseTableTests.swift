import Foundation
import KumoModel
import KumoStore
import KumoTestSupport
import Logging
import Testing

@testable import KumoServer

/// Node leases in memory, checkpointed to the store in batches, read back after a restart.
@Suite struct LeaseTableTests {
    /// A store holding `nodes`, removed afterwards.
    func withNodes(_ nodes: [String], _ body: (SQLiteStore, Logger) async throws -> Void) async throws {
        let dir = temporaryPath("leases")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logger = Logger(label: "test")
        let store = try SQLiteStore(path: dir + "/s.sqlite", logger: logger)
        for n in nodes {
            _ = try await store.commit(Txn(operations: [.put(ObjectRef(.node, name: n).storeKey, Sample.node(n).serialized())]))
        }
        try await body(store, logger)
    }

    @Test func renewalsAreMemoryUntilACheckpointWritesThemAllAndARestartReadsTheCheckpoint() async throws {
        try await withNodes(["n1", "n2"]) { store, logger in
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

    @Test func aDeletedNodesLeaseIsForgottenAndItsCheckpointDeletedAndKnownNodesRenewWithoutAStoreRead() async throws {
        try await withNodes(["n1", "n2"]) { store, logger in
            // a checkpoint left by an earlier version for a node deleted long ago
            _ = try await store.commit(Txn(operations: [.put(NodeLeases.key("old"), Array(#"{"node":"old","holder":"node/old","renewTime":"2026-01-01T00:00:00Z","durationSeconds":6}"#.utf8))]))
            let table = LeaseTable(store: store, checkpointInterval: .milliseconds(50), logger: logger)
            let running = Task { try await table.run() }
            defer { running.cancel() }
            try await eventually("the node watch lists the nodes") { table.snapshot()["nodesKnown"] == 2 }
            #expect(try await table.all().count == 0, "the deleted node's old checkpoint is not a lease")
            try await eventually("the old checkpoint is deleted") {
                try await store.get(NodeLeases.key("old")) == nil
            }

            _ = try await table.renew("n1", durationSeconds: 6, holder: "node/n1")
            _ = try await table.renew("n2", durationSeconds: 6, holder: "node/n2")
            #expect(table.snapshot()["renewalsReadingTheStore"] == 0, "the watch knows both nodes: no store read")
            try await eventually("both leases are checkpointed") {
                try await store.list(prefix: NodeLeases.prefix, startAfter: nil, limit: nil).items.count == 2
            }

            _ = try await store.commit(Txn(operations: [.delete(ObjectRef(.node, name: "n2").storeKey)]))
            try await eventually("n2's lease is forgotten") { try await table.all().map { $0["node"] } == ["n1"] }
            try await eventually("and its checkpoint deleted") { try await store.get(NodeLeases.key("n2")) == nil }
            let gone = await kumoError { _ = try await table.renew("n2", durationSeconds: 6, holder: "node/n2") }
            #expect(gone?.code == .notFound, "a deleted node cannot renew")

            // registered a moment ago, not yet delivered by the watch: one store read finds it
            _ = try await store.commit(Txn(operations: [.put(ObjectRef(.node, name: "n3").storeKey, Sample.node("n3").serialized())]))
            _ = try await table.renew("n3", durationSeconds: 6, holder: "node/n3")
            #expect(try await table.get("n3")["holder"] == "node/n3")

            // a renewal that read the node before a deletion the table has since seen does not bring the lease back
            let n4 = ObjectRef(.node, name: "n4").storeKey
            let created = try await store.commit(Txn(operations: [.put(n4, Sample.node("n4").serialized())]))
            try await eventually("the watch delivered n4") { table.state.withLock { $0.nodes?.contains("n4") == true } }
            table.applyNodeEvent(WatchEvent(
                type: .delete, kv: KeyValue(key: n4, value: [], createRevision: created, modRevision: created + 1, version: 1),
                isCreate: false))
            let fenced = await kumoError { _ = try await table.renew("n4", durationSeconds: 6, holder: "node/n4") }
            #expect(fenced?.code == .notFound)
            running.cancel()
            _ = try? await running.value
            await store.close()
        }
    }
}
