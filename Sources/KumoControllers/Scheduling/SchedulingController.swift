import Foundation
import KumoModel
import KumoScheduler
import Logging
import ServiceLifecycle
import Synchronization

/// Places unbound replicas and instances (VMs): follows Nodes, Replicas and Instances in typed caches, keeps a
/// `SchedulingView` of them current change by change, runs the pure `Scheduler` over its snapshot, and binds each
/// placed replica (node + address + explanation, one write). A replica that fits nowhere stays
/// Pending with the reason in its status and a `FailedScheduling` event, and is tried again when nodes change
/// (and every `retryInterval`).
public final class SchedulingController: ServiceLifecycle.Service, Sendable {
    public static let manager = "scheduler"
    /// Annotation holding the placement explanation (JSON) on a bound replica.
    public static let explanationAnnotation = "kumo.dev/placement"
    /// Label naming a replica's workload; replicas of one workload are spread apart.
    public static let workloadLabel = "kumo.dev/workload"

    let plane: any ControlPlane
    let logger: Logger
    let scheduler: Scheduler
    /// The run loop, with the caches it reads (the server's shared ones, or its own).
    let loop: ReconcileLoop
    var informers: ControllerInformers { loop.informers }
    var nodes: ObjectCache<NodeSpec> { informers.nodes }
    var replicas: ObjectCache<ReplicaSpec> { informers.replicas }
    var instances: ObjectCache<InstanceSpec> { informers.instances }
    let view: Mutex<SchedulingView>
    let queue = WorkQueue()
    let retryInterval: Duration
    let pending = Mutex<[String: String]>([:])  // key → last reason reported
    let stats = Mutex<(attempts: Int, placed: Int, unschedulable: Int, lastLatencyMs: Double)>((0, 0, 0, 0))

    /// `informers`: the process's shared caches (the server's); without them the controller makes and runs its own.
    public init(
        plane: any ControlPlane, options: SchedulerOptions = SchedulerOptions(), retryInterval: Duration = .seconds(5),
        informers: ControllerInformers? = nil, logger: Logger
    ) {
        self.plane = plane
        self.scheduler = Scheduler(options: options)
        self.retryInterval = retryInterval
        self.logger = logger
        self.loop = ReconcileLoop(shared: informers, source: plane, what: "scheduling", logger: logger)
        self.view = Mutex(SchedulingView(topologyKeys: [options.topologyKey]))
        self.nodes.onChange { [weak self] change in self?.nodeChanged(change.key) }
        self.replicas.onChange { [weak self] change in self?.replicaChanged(change) }
        self.instances.onChange { [weak self] change in self?.instanceChanged(change) }
    }

    public func run() async throws {
        await loop.run(
            queue: queue, workers: Self.bindingsInFlight, resync: retryInterval,
            resyncKeys: { [self] in pending.withLock { Array($0.keys) } }
        ) { key in try await self.place(key) }
    }

    /// Placements whose bindings are written at once: decisions are made one at a time against the view (each
    /// reserving its room), the writes overlap, and the store's group commit puts concurrent ones in one transaction
    /// (each still compare-and-swapped).
    static let bindingsInFlight = 16

    /// Work-queue keys: replicas by their cache key, instances prefixed with `instance:`.
    static let instancePrefix = "instance:"

    // Each handler accounts the object as the cache holds it now (not as the change carried it), inside the
    // view's lock: with the controller's own post-write accounting doing the same, the last one to run always
    // reads the newest version, whichever order they run in.

    func nodeChanged(_ name: String) {
        let changed = view.withLock { $0.setNode(name, nodes.get(name).map(SchedulingNode.init(node:))) }
        if changed { retryPending() }
    }

    func replicaChanged(_ change: ObjectChange<ReplicaSpec>) {
        accountReplica(change.key)
        guard let replica = change.new else {
            _ = pending.withLock { $0.removeValue(forKey: change.key) }
            return
        }
        // unplaced, or placed by hand (spec.nodeName given) but without an address yet
        if replica.spec.nodeName == nil || replica.spec.network == nil { queue.add(change.key) }
    }

    func instanceChanged(_ change: ObjectChange<InstanceSpec>) {
        let key = Self.instancePrefix + change.key
        accountInstance(change.key)
        guard let instance = change.new else {
            _ = pending.withLock { $0.removeValue(forKey: key) }
            return
        }
        if instance.spec.nodeName == nil || instance.spec.network == nil { queue.add(key) }
    }

    /// Accounts the replica as cached now; `releasing` ends its reservation in the same step (so its room is never
    /// counted zero times between the two).
    func accountReplica(_ key: String, releasing: Bool = false) {
        view.withLock { v in
            if releasing { v.release(key) }
            v.account(key, replicas.get(key).flatMap { SchedulingView.held(by: $0, group: Self.group(of: $0)) })
        }
    }

    func accountInstance(_ cacheKey: String, releasing: Bool = false) {
        let key = Self.instancePrefix + cacheKey
        view.withLock { v in
            if releasing { v.release(key) }
            v.account(key, instances.get(cacheKey).flatMap { i in i.spec.nodeName.map { SchedulingView.Held(node: $0, request: Self.request(for: i)) } })
        }
    }

    /// Decides against the view and, when placed, reserves what `held` takes there in the same step: the next
    /// decision, by this worker or another, counts it.
    func decide(_ key: String, _ request: PlacementRequest, holding held: PlacementRequest) -> PlacementDecision {
        view.withLock { v in
            let decision = scheduler.schedule(request, in: v.snapshot())
            if case .placed(let node, _) = decision { v.reserve(key, SchedulingView.Held(node: node, request: held)) }
            return decision
        }
    }

    /// Writes a decided binding; a failed write ends the reservation (a written one ends when it is accounted).
    func bindReserved(
        _ kind: Kind, key: String, project: String, name: String, node: String, annotations: [String: String]
    ) async throws(KumoError) -> JSONValue {
        do {
            return try await plane.bind(kind, project: project, name: name, node: node, manager: Self.manager, annotations: annotations)
        } catch {
            view.withLock { $0.release(key) }
            throw error
        }
    }

    func retryPending() {
        for key in pending.withLock({ Array($0.keys) }) { queue.add(key) }
    }

    /// State for `/debug/state`.
    public func snapshot() -> JSONValue {
        let s = stats.withLock { $0 }
        let (builds, held, schedulable) = view.withLock { v in
            (v.builds, v.held.count, v.nodes.values.filter { $0.ready && !$0.unschedulable }.count)
        }
        return .object([
            "queueDepth": .number(Double(queue.depth)), "pending": .number(Double(pending.withLock { $0.count })),
            "attempts": .number(Double(s.attempts)), "placed": .number(Double(s.placed)),
            "unschedulable": .number(Double(s.unschedulable)), "lastPlacementMs": .number(s.lastLatencyMs),
            "nodesCached": .number(Double(nodes.count)), "replicasCached": .number(Double(replicas.count)),
            "instancesCached": .number(Double(instances.count)), "snapshotBuilds": .number(Double(builds)),
            "boundAccounted": .number(Double(held)), "schedulableNodes": .number(Double(schedulable)),
        ])
    }

    func place(_ key: String) async throws(KumoError) {
        if key.hasPrefix(Self.instancePrefix) { return try await placeInstance(key) }
        guard let replica = replicas.get(key), replica.status?.phase != .terminating,
            replica.spec.nodeName == nil || replica.spec.network == nil
        else {
            _ = pending.withLock { $0.removeValue(forKey: key) }
            return
        }
        let project = replica.metadata.project ?? ""
        if let pinned = replica.spec.nodeName {
            // placed by hand: the node is chosen; IPAM still gives it an address (same one-write binding)
            let bound = try await plane.bind(
                .replica, project: project, name: replica.metadata.name, node: pinned, manager: Self.manager,
                annotations: [Self.explanationAnnotation: #"{"pinned":"spec.nodeName was set by its creator"}"#])
            replicas.remember(bound)
            accountReplica(key)
            _ = pending.withLock { $0.removeValue(forKey: key) }
            return
        }
        let start = ContinuousClock.now
        let group = Self.group(of: replica)
        let request = PlacementRequest(replica: replica, group: group, antiAffinity: group == nil ? .none : .preferred)
        switch decide(key, request, holding: PlacementRequest(replica: replica, group: group)) {
        case .placed(let node, let explanation):
            let bound = try await bindReserved(
                .replica, key: key, project: project, name: replica.metadata.name, node: node,
                annotations: [Self.explanationAnnotation: Self.json(explanation)])
            // the next placement sees this one at once, before the watch brings it
            replicas.remember(bound)
            accountReplica(key, releasing: true)
            _ = pending.withLock { $0.removeValue(forKey: key) }
            stats.withLock {
                $0.attempts += 1
                $0.placed += 1
                $0.lastLatencyMs = (ContinuousClock.now - start).millisecondsValue
            }
            logger.debug("placed replica", metadata: ["replica": "\(key)", "node": "\(node)"])
        case .unschedulable(let explanation):
            let reason = explanation.summary
            let previous = pending.withLock { p -> String? in
                let old = p[key]
                p[key] = reason
                return old
            }
            stats.withLock {
                $0.attempts += 1
                $0.unschedulable += 1
            }
            guard previous != reason else { return }  // already reported
            let updated = try await plane.patch(
                .replica, project: project, name: replica.metadata.name,
                ["status": ["phase": "Pending", "reason": "Unschedulable", "message": .string(reason)]],
                manager: Self.manager, force: true)
            replicas.remember(updated)
            await plane.event(
                regarding: .replica, project: project, name: replica.metadata.name, reason: "FailedScheduling",
                message: reason, type: "Warning", source: Self.manager)
        }
    }

    static func group(of replica: Replica) -> String? {
        guard let workload = replica.metadata.labels?[workloadLabel] else { return nil }
        return (replica.metadata.project ?? "") + "/" + workload
    }

    static func json(_ explanation: Explanation) -> String {
        encode(explanation).jsonString
    }
}
