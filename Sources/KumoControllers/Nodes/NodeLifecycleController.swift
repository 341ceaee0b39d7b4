import Foundation
import KumoModel
import Logging
import ServiceLifecycle
import Synchronization

/// Runs `NodeLifecycle` every `interval`: reads the nodes and the bound replicas (typed caches), their leases, writes each
/// node's `Ready` condition when it changes, and evicts the replicas of nodes that stopped heartbeating (so the
/// workload controller replaces them and the scheduler places them elsewhere) — unless most nodes are not Ready
/// at once, which looks like the control plane or the network failing rather than the nodes.
public final class NodeLifecycleController: ServiceLifecycle.Service, Sendable {
    public static let manager = "node-lifecycle"

    let plane: any ControlPlane
    let logger: Logger
    let options: NodeLifecycle.Options
    let interval: Duration
    /// The run loop, with the caches it reads (the server's shared ones, or its own).
    let loop: ReconcileLoop
    var informers: ControllerInformers { loop.informers }
    var nodes: ObjectCache<NodeSpec> { informers.nodes }
    var replicas: ObjectCache<ReplicaSpec> { informers.replicas }
    private let state = Mutex<
        (mode: DisruptionMode?, notReady: [String], evicted: Int, held: Int, since: Timestamp?, terminatingTooLong: Int)
    >((nil, [], 0, 0, nil, 0))

    /// `informers`: the process's shared caches (the server's); without them the controller makes and runs its own.
    public init(
        plane: any ControlPlane, options: NodeLifecycle.Options = .init(), interval: Duration = .milliseconds(500),
        informers: ControllerInformers? = nil, logger: Logger
    ) {
        self.plane = plane
        self.options = options
        self.interval = interval
        self.logger = logger
        self.loop = ReconcileLoop(shared: informers, source: plane, what: "node lifecycle pass", logger: logger)
    }

    public func run() async throws {
        state.withLock { $0.since = Timestamp.now() }
        await loop.run(every: interval) { try await self.tick() }
    }

    public func snapshot() -> JSONValue {
        let s = state.withLock { $0 }
        return .object([
            "mode": .string((s.mode ?? .normal).rawValue), "notReady": .array(s.notReady.map { .string($0) }),
            "evicted": .number(Double(s.evicted)), "heldEvictions": .number(Double(s.held)),
            "terminatingTooLong": .number(Double(s.terminatingTooLong)),
            "gracePeriodSeconds": .number(options.gracePeriod.secondsValue),
        ])
    }

    func tick() async throws(KumoError) {
        let nodeObjects = nodes.list()
        let replicaObjects = replicas.list()
        var leases: [String: NodeLease] = [:]
        for record in try await plane.leases() {
            if let node = record["node"]?.stringValue, let lease = NodeLease(record) { leases[node] = lease }
        }
        let (previous, since) = state.withLock { ($0.mode, $0.since) }
        let result = NodeLifecycle(
            nodes: nodeObjects.map(NodeSnapshot.init), leases: leases, boundReplicas: NodeLifecycle.bound(replicaObjects),
            now: Timestamp.now(), monitoringSince: since, previousMode: previous, options: options
        ).reconcile()
        var evicted = 0
        for action in result.actions {
            switch action {
            case .setCondition(let node, let condition):
                var conditions = (nodes.get(node)?.status?.conditions ?? []).filter { $0.type != condition.type }
                conditions.append(condition)
                nodes.remember(
                    try await plane.patch(
                        .node, project: nil, name: node, ["status": ["conditions": encode(conditions)]],
                        manager: Self.manager, force: true))
                logger.notice(
                    "node condition", metadata: ["node": "\(node)", "ready": "\(condition.status)", "reason": "\(condition.reason ?? "")"])
            case .evict(let replica, let node, let reason):
                do {
                    // force: the node's agent is not there to finish a graceful stop; if it comes back it stops
                    // what is no longer bound to it
                    try await plane.delete(
                        .replica, project: replica.project, name: replica.name, manager: Self.manager, force: true)
                    evicted += 1
                    await plane.event(
                        regarding: .replica, project: replica.project, name: replica.name, reason: "Evicted",
                        message: "node \(node) is not Ready (\(reason)); the replica is replaced elsewhere",
                        type: "Warning", source: Self.manager)
                } catch where error.code == .notFound {}
            case .event(let regarding, let reason, let message, let type):
                let kind = Kind(rawValue: regarding.kind) ?? .node
                await plane.event(
                    regarding: kind, project: regarding.project, name: regarding.name, reason: reason, message: message,
                    type: type.rawValue, source: Self.manager)
            }
        }
        let flagged = try await flagOverdueTerminations(replicaObjects, notReady: Set(result.notReady))
        state.withLock {
            $0.mode = result.mode
            $0.notReady = result.notReady
            $0.evicted += evicted
            $0.held = result.heldEvictions
            $0.terminatingTooLong += flagged
        }
    }

    /// Flags replicas on Ready nodes whose stop has outlasted grace + margin (`TerminationDeadline`): a condition
    /// on the replica and a warning event, once each. Returns how many it flagged.
    func flagOverdueTerminations(_ replicas: [Replica], notReady: Set<String>) async throws(KumoError) -> Int {
        let deadline = TerminationDeadline(
            candidates: replicas.compactMap(TerminationDeadline.Candidate.init), notReady: notReady, now: Timestamp.now(),
            margin: options.terminationMargin)
        var flagged = 0
        for o in deadline.evaluate().overdue {
            let cacheKey = o.replica.project.map { "\($0)/\(o.replica.name)" } ?? o.replica.name
            var conditions = (self.replicas.get(cacheKey)?.status?.conditions ?? []).filter { $0.type != TerminationDeadline.conditionType }
            conditions.append(o.condition)
            do {
                self.replicas.remember(
                    try await plane.patch(
                        .replica, project: o.replica.project, name: o.replica.name,
                        ["status": ["conditions": encode(conditions)]], manager: Self.manager, force: true))
            } catch where error.code == .notFound {
                continue  // it finished meanwhile
            }
            flagged += 1
            logger.warning(
                "replica terminating too long",
                metadata: ["replica": "\(o.replica.project ?? "")/\(o.replica.name)", "node": "\(o.node)"])
            await plane.event(
                regarding: .replica, project: o.replica.project, name: o.replica.name, reason: TerminationDeadline.reason,
                message: o.message, type: "Warning", source: Self.manager)
        }
        return flagged
    }
}
