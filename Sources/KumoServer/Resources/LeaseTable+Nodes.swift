import Foundation
import KumoModel
import KumoStore

/// The node watch: which nodes exist, so renewals need no store read and deleted nodes' leases go away.
extension LeaseTable {
    static let nodePrefix = StoreKeys.collectionPrefix(.node, project: nil)

    /// Lists the nodes and follows their changes until cancelled; after a failure (a compacted revision, a store
    /// error) it lists again, so deletions in the gap are seen too.
    func followNodes() async {
        while !Task.isCancelled {
            do {
                try await followNodesOnce()
            } catch {
                if Task.isCancelled { break }
                state.withLock { $0.watch = "restarting: \(error)" }
                logger.warning("lease table's node watch ended; listing again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    private func followNodesOnce() async throws {
        let page = try await store.list(prefix: Self.nodePrefix, startAfter: nil, limit: nil)
        let names = Set(page.items.map { String($0.key.dropFirst(Self.nodePrefix.count)) })
        let stream = try await store.watch(prefix: Self.nodePrefix, since: page.revision)
        let forgotten = state.withLock { s -> Int in
            let gone = s.leases.keys.filter { !names.contains($0) }
            for node in gone { s.forget(node) }
            // deleted while the watch was down: a renewal that read the node before must not bring the lease back
            for node in s.nodes ?? [] where !names.contains(node) {
                s.tombstones[node] = (page.revision, ContinuousClock.now)
            }
            s.nodes = names
            s.watch = "following from revision \(page.revision)"
            return gone.count
        }
        if forgotten > 0 {
            logger.info("forgot the leases of deleted nodes", metadata: ["leases": "\(forgotten)"])
        }
        for try await event in stream {
            applyNodeEvent(event)
        }
        throw KumoError(.unavailable, "the store ended the node watch")
    }

    func applyNodeEvent(_ event: WatchEvent) {
        let node = String(event.kv.key.dropFirst(Self.nodePrefix.count))
        state.withLock { s in
            switch event.type {
            case .put:
                s.nodes?.insert(node)
                s.tombstones[node] = nil
            case .delete:
                s.nodes?.remove(node)
                s.tombstones[node] = (event.revision, ContinuousClock.now)
                s.forget(node)
            }
        }
    }
}
