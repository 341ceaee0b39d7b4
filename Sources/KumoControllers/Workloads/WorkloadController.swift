import Foundation
import KumoModel
import Logging
import ServiceLifecycle
import Synchronization

/// Runs `WorkloadReconciler`: watches Workloads and Replicas, reconciles a workload whenever it or one of its
/// replicas changes (and every `resync`, for progress deadlines), and applies the actions: create and delete
/// replicas, write the workload's status, revert the template, record events. Replicas of a deleted workload
/// are deleted.
public final class WorkloadController: ServiceLifecycle.Service, Sendable {
    public static let manager = "workloads"

    let plane: any ControlPlane
    let logger: Logger
    let options: WorkloadReconciler.Options
    let resync: Duration
    let workloads = ObjectCache(kind: .workload)
    let replicas = ObjectCache(kind: .replica)
    let queue = WorkQueue()
    private let counters = Mutex<(reconciles: Int, created: Int, deleted: Int, reverted: Int)>((0, 0, 0, 0))

    public init(
        plane: any ControlPlane, options: WorkloadReconciler.Options = .init(), resync: Duration = .seconds(5),
        logger: Logger
    ) {
        self.plane = plane
        self.options = options
        self.resync = resync
        self.logger = logger
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.workloads.run(self.plane, logger: self.logger) { event in
                    self.queue.add(ObjectCache.key(event.object))
                }
            }
            group.addTask {
                await self.replicas.run(self.plane, logger: self.logger) { event in
                    guard let workload = event.object["metadata"]?["labels"]?[WorkloadLabels.workload]?.stringValue,
                        let project = event.object["metadata"]?["project"]?.stringValue
                    else { return }
                    self.queue.add(project + "/" + workload)
                }
            }
            group.addTask { await self.work() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.resync)
                    for w in self.workloads.all { self.queue.add(ObjectCache.key(w)) }
                }
            }
            try? await gracefulShutdown()
            queue.close()
            group.cancelAll()
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

    func work() async {
        await queue.process(logger: logger, what: "workload reconcile") { key in try await self.reconcile(key) }
    }

    func reconcile(_ key: String) async throws(KumoError) {
        counters.withLock { $0.reconciles += 1 }
        guard let slash = key.firstIndex(of: "/") else { return }
        let project = String(key[..<slash])
        let name = String(key[key.index(after: slash)...])
        let mine = replicas.all.filter {
            $0["metadata"]?["project"]?.stringValue == project
                && $0["metadata"]?["labels"]?[WorkloadLabels.workload]?.stringValue == name
        }
        guard let json = workloads.get(key) else {
            // the workload is gone: so are its replicas
            for r in mine {
                let replica = r["metadata"]?["name"]?.stringValue ?? ""
                do {
                    try await plane.delete(.replica, project: project, name: replica, manager: Self.manager, force: false)
                    counters.withLock { $0.deleted += 1 }
                } catch where error.code == .notFound {}
            }
            return
        }
        let workload = try decode(json, as: Workload.self)
        let replicaObjects = mine.compactMap { replicas.decode($0, as: Replica.self, logger: logger) }
        var suffixes = NameSuffixes(seed: UInt64.random(in: 0...UInt64.max))
        let plan = WorkloadReconciler(workload: workload, replicas: replicaObjects, now: Timestamp.now(), options: options)
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
