import Foundation
import KumoModel
import KumoStore
import Logging
import ServiceLifecycle
import Synchronization

/// Node heartbeat leases, held in memory and checkpointed to the store, as etcd keeps its lease TTLs: a renewal
/// changes a record in memory and answers at once; every `checkpointInterval` the renewals since the last
/// checkpoint are written to the store (`/leases/nodes/NAME`) in one transaction per 500. So 5,000 agents renewing
/// every 2 s are 2,500 updates/s of memory and one small batch of writes per interval, not 2,500 commits/s.
///
/// What a restart does: the table loads the last checkpoint, so a lease reads up to one interval older than its
/// last renewal; the node lifecycle controller gives every node a grace period after it starts anyway
/// (`monitoringSince`), and agents renew every 2 s, so no node is declared lost by a restart. A crash loses at most
/// the renewals of one interval, for the same reason harmless. With several servers on one store (the HA issue)
/// each holds the renewals of the agents that reach it and checkpoints them; the interval (2 s) stays well below the
/// grace period (6 s by default), so a leader reading the checkpoints sees every live node.
///
/// Which nodes exist, the table learns from a store watch on the Node collection (`followNodes`, run with the
/// service): a renewal of a node it knows costs no store read, and a deleted node's lease is forgotten at once and
/// its checkpoint key deleted at the next checkpoint — so `all()` (the lifecycle controller's and the doctor's read)
/// never holds a node that is gone. A node the watch has not delivered yet (registered a moment ago) is looked up
/// in the store once. Every server on a shared store follows the same watch, so each forgets the same leases.
///
/// A lease also carries the node's load-balancer acknowledgement: the store revision of services its HAProxy
/// config reflects (`loadBalancer.appliedRevision`), sent with every renewal and at once when it changes. It is one
/// number per node, read only by `loadBalancers(of:atLeast:)` (what a draining replica waits for, and `kumo
/// describe service`): acknowledgements used to be Node status writes, which every agent's node watch received —
/// N² deliveries for one endpoints change.
public final class LeaseTable: ServiceLifecycle.Service, Sendable {
    /// What `loadBalancers` reads of a lease, parsed once per renewal.
    struct Liveness {
        var expires: Timestamp
        var appliedRevision: Int64?
        var appliedAt: String?

        init(_ lease: JSONValue) {
            let renewed = lease["renewTime"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(millisecondsSinceEpoch: 0)
            let seconds = Int64(lease["durationSeconds"]?.intValue ?? 0)
            expires = renewed + .seconds(seconds)
            appliedRevision = lease["loadBalancer"]?["appliedRevision"]?.intValue.map { Int64($0) }
            appliedAt = lease["loadBalancer"]?["appliedAt"]?.stringValue
        }
    }

    struct State {
        var leases: [String: JSONValue] = [:]
        var liveness: [String: Liveness] = [:]
        var dirty: Set<String> = []
        var loaded = false
        var checkpoints = 0
        var written = 0
        var lastError: String?
        /// The nodes that exist, from the node watch; nil until its first list (then every renewal reads the store).
        var nodes: Set<String>?
        /// Deleted nodes → the revision of the deletion and when it was seen (uptime): a renewal that read the node
        /// from the store before a deletion it has not seen must not bring the lease back. Pruned at checkpoints.
        var tombstones: [String: (revision: Int64, seenAt: ContinuousClock.Instant)] = [:]
        /// Checkpoint keys of deleted nodes' leases, deleted at the next checkpoint.
        var toDelete: Set<String> = []
        var deleted = 0
        var storeReads = 0
        var watch = "not started"

        /// Whether a lease may be kept for `node` (false once the node watch knows it is gone).
        func admits(_ node: String) -> Bool { nodes?.contains(node) ?? true }

        mutating func forget(_ node: String) {
            leases[node] = nil
            liveness[node] = nil
            dirty.remove(node)
            toDelete.insert(node)
        }

        /// The renewal itself, under the lock.
        mutating func renew(
            _ node: String, durationSeconds: Int?, appliedRevision: Int64?, holder: String, now: String
        ) -> JSONValue {
            let previous = leases[node]
            let duration = durationSeconds ?? previous?["durationSeconds"]?.intValue ?? NodeLeases.defaultDurationSeconds
            var lease: JSONValue = [
                "node": .string(node), "holder": .string(holder), "renewTime": .string(now),
                "durationSeconds": .number(Double(duration)),
            ]
            let kept = previous?["loadBalancer"]
            if let appliedRevision, kept?["appliedRevision"]?.intValue.map({ Int64($0) }) != appliedRevision {
                lease["loadBalancer"] = ["appliedRevision": .number(Double(appliedRevision)), "appliedAt": .string(now)]
            } else if let kept {
                lease["loadBalancer"] = kept
            }
            leases[node] = lease
            liveness[node] = Liveness(lease)
            dirty.insert(node)
            toDelete.remove(node)
            return lease
        }
    }

    let store: any Store
    let checkpointInterval: Duration
    let logger: Logger
    let state = Mutex(State())
    /// One load at a time (the first renewal, the first read and the service's start may race).
    private let loading = AsyncSerializer()

    public init(store: any Store, checkpointInterval: Duration = .seconds(2), logger: Logger) {
        self.store = store
        self.checkpointInterval = checkpointInterval
        self.logger = logger
    }

    /// Reads the checkpointed leases once (later renewals win over what it reads).
    func loadIfNeeded() async throws(KumoError) {
        guard !state.withLock({ $0.loaded }) else { return }
        try await loading.run { () async throws(KumoError) in
            guard !self.state.withLock({ $0.loaded }) else { return }
            let page: ListResult
            do {
                page = try await self.store.list(prefix: NodeLeases.prefix, startAfter: nil, limit: nil)
            } catch {
                throw KumoError(.unavailable, "failed to read leases: \(error)", cause: error)
            }
            var read: [String: JSONValue] = [:]
            for kv in page.items {
                do {
                    let lease = try JSONValue(parsing: kv.value)
                    read[String(kv.key.dropFirst(NodeLeases.prefix.count))] = lease
                } catch {
                    // a lease that does not parse reads as no lease: say so, or the node's evictions look causeless
                    self.logger.error("node lease does not parse", metadata: ["lease": "\(kv.key)", "error": "\(error)"])
                }
            }
            self.state.withLock { s in
                for (node, lease) in read where s.leases[node] == nil {
                    // a checkpoint of a node deleted meanwhile (or before this version forgot deleted nodes' leases)
                    guard s.admits(node) else {
                        s.toDelete.insert(node)
                        continue
                    }
                    s.leases[node] = lease
                    s.liveness[node] = Liveness(lease)
                }
                s.loaded = true
            }
        }
    }

    /// Renews `node`'s lease (the node must exist), with its load balancer's applied revision when given (else the
    /// last one stays). Without `durationSeconds` the lease keeps its duration (the default for a new one). Answers
    /// the record as stored in memory.
    public func renew(
        _ node: String, durationSeconds: Int?, appliedRevision: Int64? = nil, holder: String
    ) async throws(KumoError) -> JSONValue {
        if let durationSeconds, !NodeLeases.durationRange.contains(durationSeconds) {
            throw KumoError(.invalid, "durationSeconds must be between 1 and 3600", field: "durationSeconds")
        }
        if let appliedRevision, appliedRevision < 0 {
            throw KumoError(.invalid, "loadBalancer.appliedRevision must be 0 or more", field: "loadBalancer.appliedRevision")
        }
        try await loadIfNeeded()
        let now = ObjectCodec.now()
        let known = state.withLock { s -> JSONValue? in
            guard s.nodes?.contains(node) == true else { return nil }
            return s.renew(node, durationSeconds: durationSeconds, appliedRevision: appliedRevision, holder: holder, now: now)
        }
        if let known { return known }
        // not (yet) seen by the node watch: the store says whether the node exists
        let stored: KeyValue?
        do {
            stored = try await store.get(ObjectRef(.node, name: node).storeKey)
        } catch {
            throw KumoError(.unavailable, "failed to renew lease of \(node): \(error)", cause: error)
        }
        let lease = state.withLock { s -> JSONValue? in
            s.storeReads += 1
            return stored.flatMap { kv -> JSONValue? in
                if let gone = s.tombstones[node], gone.revision > kv.modRevision { return nil }
                s.nodes?.insert(node)
                return s.renew(node, durationSeconds: durationSeconds, appliedRevision: appliedRevision, holder: holder, now: now)
            }
        }
        guard let lease else { throw KumoError(.notFound, "node \"\(node)\" not found: register it before renewing its lease") }
        return lease
    }

    /// A service's load balancers as the live nodes acknowledge them: how many nodes hold an unexpired lease, how
    /// many of those serve `revision` or later, and the lagging ones (the first `limit`, by name; a node that never
    /// acknowledged reads applied revision nil).
    public func loadBalancers(atLeast revision: Int64, limit: Int = 100, now: Timestamp = .now()) async throws(KumoError)
        -> (live: Int, serving: Int, lagging: [(node: String, appliedRevision: Int64?, appliedAt: String?)], laggingCount: Int)
    {
        try await loadIfNeeded()
        return state.withLock { s in
            var live = 0
            var serving = 0
            var lagging: [(node: String, appliedRevision: Int64?, appliedAt: String?)] = []
            for (node, l) in s.liveness where l.expires >= now {
                live += 1
                if let applied = l.appliedRevision, applied >= revision {
                    serving += 1
                } else {
                    lagging.append((node, l.appliedRevision, l.appliedAt))
                }
            }
            let count = lagging.count
            lagging.sort { $0.node < $1.node }
            return (live, serving, Array(lagging.prefix(limit)), count)
        }
    }

    public func get(_ node: String) async throws(KumoError) -> JSONValue {
        try await loadIfNeeded()
        guard let lease = state.withLock({ $0.leases[node] }) else {
            throw KumoError(.notFound, "node \"\(node)\" has no lease (its agent never reported)")
        }
        return lease
    }

    /// Every node's lease record (`{node, holder, renewTime, durationSeconds}`).
    public func all() async throws(KumoError) -> [JSONValue] {
        try await loadIfNeeded()
        return state.withLock { Array($0.leases.values) }
    }

    /// Writes the renewals since the last checkpoint and deletes the leases of deleted nodes; what fails stays to be
    /// written next time.
    public func checkpoint() async {
        let batch = state.withLock { s -> [(node: String, lease: JSONValue?)] in
            defer {
                s.dirty.removeAll()
                s.toDelete.removeAll()
                let horizon = ContinuousClock.now - .seconds(60)
                s.tombstones = s.tombstones.filter { $0.value.seenAt > horizon }
            }
            return s.dirty.compactMap { node in s.leases[node].map { (node, $0) } } + s.toDelete.map { ($0, nil) }
        }
        guard !batch.isEmpty else { return }
        for start in stride(from: 0, to: batch.count, by: 500) {
            let chunk = batch[start..<min(start + 500, batch.count)]
            do {
                _ = try await store.commit(Txn(operations: chunk.map { entry -> KumoStore.Operation in
                    entry.lease.map { .put(NodeLeases.key(entry.node), $0.serialized()) } ?? .delete(NodeLeases.key(entry.node))
                }))
                let deletes = chunk.count { $0.lease == nil }
                state.withLock {
                    $0.written += chunk.count - deletes
                    $0.deleted += deletes
                    $0.lastError = nil
                }
            } catch {
                state.withLock { s in
                    for entry in chunk {
                        // what changed meanwhile wins: a renewal after a failed delete, a deletion after a failed put
                        if entry.lease != nil, s.leases[entry.node] != nil { s.dirty.insert(entry.node) }
                        if entry.lease == nil, s.leases[entry.node] == nil { s.toDelete.insert(entry.node) }
                    }
                    s.lastError = "\(error)"
                }
                logger.warning("lease checkpoint failed; retried next interval", metadata: ["error": "\(error)"])
            }
        }
        state.withLock { $0.checkpoints += 1 }
    }

    /// Checkpoints every interval; a last one at a graceful shutdown.
    public func run() async throws {
        try? await loadIfNeeded()
        let follower = Task { await self.followNodes() }
        defer { follower.cancel() }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.checkpointInterval) }
            await checkpoint()
        }
        await checkpoint()
    }

    /// For `kumo state server`.
    public func snapshot() -> JSONValue {
        state.withLock { s in
            [
                "leases": .number(Double(s.leases.count)), "pendingCheckpoint": .number(Double(s.dirty.count)),
                "checkpoints": .number(Double(s.checkpoints)), "written": .number(Double(s.written)),
                "checkpointIntervalSeconds": .number(checkpointInterval.secondsValue),
                "deleted": .number(Double(s.deleted)), "pendingDelete": .number(Double(s.toDelete.count)),
                "nodesKnown": s.nodes.map { .number(Double($0.count)) } ?? .null, "nodeWatch": .string(s.watch),
                "renewalsReadingTheStore": .number(Double(s.storeReads)),
                "lastError": s.lastError.map { .string($0) } ?? .null,
            ]
        }
    }
}
