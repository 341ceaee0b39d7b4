import Foundation
import KumoModel
import Logging
import ServiceLifecycle
import Synchronization

/// Runs `WorkloadReconciler`: follows Workloads and Replicas (typed caches, replicas indexed by workload), reconciles a workload whenever it or one of its
/// replicas changes (and every `resync`, for progress deadlines), and applies the actions: create and delete
/// replicas, write the workload's status, revert the template, record events. Replicas of a deleted workload
/// are deleted.
public final class WorkloadController: ServiceLifecycle.Service, Sendable {
    public static let manager = "workloads"

    let plane: any ControlPlane
    let logger: Logger
    let options: WorkloadReconciler.Options
    let resync: Duration
    /// The run loop, with the caches it reads (the server's shared ones, or its own).
    let loop: ReconcileLoop
    var informers: ControllerInformers { loop.informers }
    var workloads: ObjectCache<WorkloadSpec> { informers.workloads }
    var replicas: ObjectCache<ReplicaSpec> { informers.replicas }
    let queue = WorkQueue()
    private let counters = Mutex<(reconciles: Int, created: Int, deleted: Int, reverted: Int)>((0, 0, 0, 0))

    /// `informers`: the process's shared caches (the server's); without them the controller makes and runs its own.
    public init(
        plane: any ControlPlane, options: WorkloadReconciler.Options = .init(), resync: Duration = .seconds(5),
        informers: ControllerInformers? = nil, logger: Logger
    ) {
        self.plane = plane
        self.options = options
        self.resync = resync
        self.logger = logger
        self.loop = ReconcileLoop(shared: informers, source: plane, what: "workload reconcile", logger: logger)
        let queue = self.queue
        workloads.onChange { change in queue.add(change.key) }
        // a replica's owner, before and after (a relabelled replica changes owner)
        replicas.onChange { change in
            for r in [change.old, change.new] {
                if let owner = r.flatMap(Self.owner(of:)) { queue.add(owner) }
            }
        }
    }

    /// The cache key of the workload that owns a replica (its `kumo.dev/workload` label, in its project).
    static func owner(of replica: Replica) -> String? {
        guard let project = replica.metadata.project, let workload = replica.metadata.labels?[WorkloadLabels.workload] else { return nil }
        return CacheKey.make(project: project, name: workload)
    }

    public func run() async throws {
        await loop.run(queue: queue, resync: resync, resyncKeys: { [workloads] in workloads.list().map(\.cacheKey) }) { key in
            try await self.reconcile(key)
        }
    }

    public func snapshot() -> JSONValue {
        let c = counters.withLock { $0 }
        return .object([
            "queueDepth": .number(Double(queue.depth)), "workloadsCached": .number(Double(workloads.count)),
            "replicasCached": .number(Double(replicas.count)), "reconciles": .number(Double(c.reconciles)),
            "replicasCreated": .number(Double(c.created)), "replicasDeleted": .number(Double(c.deleted)),
            "reverts": .number(Double(c.reverted)),
        ])
    }

    func reconcile(_ key: String) async throws(KumoError) {
        counters.withLock { $0.reconciles += 1 }
        guard let slash = key.firstIndex(of: "/") else { return }
        let project = String(key[..<slash])
        let name = String(key[key.index(after: slash)...])
        let mine = replicas.byIndex(ControllerInformers.byWorkload, key)
        guard let workload = workloads.get(key) else {
            // the workload is gone: so are its replicas
            for r in mine {
                do {
                    try await plane.delete(.replica, project: project, name: r.metadata.name, manager: Self.manager, force: false)
                    counters.withLock { $0.deleted += 1 }
                } catch where error.code == .notFound {}
            }
            return
        }
        var suffixes = NameSuffixes(seed: UInt64.random(in: 0...UInt64.max))
        let plan = WorkloadReconciler(workload: workload, replicas: mine, now: Timestamp.now(), options: options)
            .plan(suffixes: &suffixes)
        for action in plan.actions {
            switch action {
            case .create(let replicaName, let template, let hash):
                let replica = WorkloadLabels.replica(named: replicaName, template: template, hash: hash, of: workload)
                do {
                    replicas.remember(try await plane.create(.replica, project: project, encode(replica), manager: Self.manager))
                    counters.withLock { $0.created += 1 }
                } catch where error.code == .alreadyExists {}
            case .delete(let replicaName, let reason):
                do {
                    try await plane.delete(.replica, project: project, name: replicaName, manager: Self.manager, force: false)
                    counters.withLock { $0.deleted += 1 }
                    logger.debug("deleted replica", metadata: ["replica": "\(replicaName)", "reason": "\(reason)"])
                } catch where error.code == .notFound {}
            case .updateStatus(let status):
                workloads.remember(
                    try await plane.patch(
                        .workload, project: project, name: name, ["status": encode(status)], manager: Self.manager,
                        force: true))
            case .event(let reason, let message, let type):
                await plane.event(
                    regarding: .workload, project: project, name: name, reason: reason, message: message,
                    type: type.rawValue, source: Self.manager)
            case .revert(let hash):
                guard let template = WorkloadRollout.template(forHash: hash, in: workload) else { continue }
                workloads.remember(
                    try await plane.patch(
                        .workload, project: project, name: name, ["spec": ["template": encode(template)]],
                        manager: Self.manager, force: true))
                counters.withLock { $0.reverted += 1 }
                await plane.event(
                    regarding: .workload, project: project, name: name, reason: "RolloutReverted",
                    message: "the new revision did not become Ready in time; reverted to revision \(hash)",
                    type: "Warning", source: Self.manager)
            }
        }
    }
}
