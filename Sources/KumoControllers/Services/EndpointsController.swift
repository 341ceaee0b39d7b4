import Foundation
import KumoModel
import Logging
import ServiceLifecycle
import Synchronization

/// Runs `ServiceEndpoints`: follows Services and Replicas (typed caches, indexed by project) and writes each service's `status` (endpoints,
/// generation, reason) whenever its set of serving replicas changes. A replica marked Terminating leaves at once,
/// which is what lets its agent drain it before SIGTERM.
public final class EndpointsController: ServiceLifecycle.Service, Sendable {
    public static let manager = "endpoints"

    let plane: any ControlPlane
    let logger: Logger
    /// The run loop, with the caches it reads (the server's shared ones, or its own).
    let loop: ReconcileLoop
    var informers: ControllerInformers { loop.informers }
    var services: ObjectCache<ServiceSpec> { informers.services }
    var replicas: ObjectCache<ReplicaSpec> { informers.replicas }
    let queue = WorkQueue()
    private let counters = Mutex<(reconciles: Int, writes: Int)>((0, 0))

    /// `informers`: the process's shared caches (the server's); without them the controller makes and runs its own.
    public init(plane: any ControlPlane, informers: ControllerInformers? = nil, logger: Logger) {
        self.plane = plane
        self.logger = logger
        self.loop = ReconcileLoop(shared: informers, source: plane, what: "endpoints reconcile", logger: logger)
        let (queue, services) = (self.queue, self.services)
        services.onChange { change in queue.add(change.key) }
        // the services of the replica's project that select it, before or after the change
        replicas.onChange { change in
            let project = change.object.metadata.project ?? ""
            for s in services.byIndex(ControllerInformers.byProject, project)
            where [change.old, change.new].contains(where: { $0.map { s.spec.selects($0.metadata.labels) } ?? false }) {
                queue.add(s.cacheKey)
            }
        }
    }

    public func run() async throws {
        // resync: a replica change that arrived before its service was cached is picked up here
        await loop.run(queue: queue, resync: .seconds(5), resyncKeys: { [services] in services.list().map(\.cacheKey) }) { key in
            try await self.reconcile(key)
        }
    }

    public func snapshot() -> JSONValue {
        let c = counters.withLock { $0 }
        return .object([
            "queueDepth": .number(Double(queue.depth)), "servicesCached": .number(Double(services.count)),
            "replicasCached": .number(Double(replicas.count)), "reconciles": .number(Double(c.reconciles)),
            "statusWrites": .number(Double(c.writes)),
        ])
    }

    func reconcile(_ key: String) async throws(KumoError) {
        counters.withLock { $0.reconciles += 1 }
        guard let service = services.get(key), let project = service.metadata.project else { return }
        let name = service.metadata.name
        let mine = replicas.byIndex(ControllerInformers.byProject, project)
        guard let status = ServiceEndpoints(service: service, replicas: mine).desiredStatus() else { return }
        do {
            services.remember(
                try await plane.patch(.service, project: project, name: name, ["status": encode(status)], manager: Self.manager, force: true))
            counters.withLock { $0.writes += 1 }
            logger.debug(
                "endpoints changed",
                metadata: ["service": "\(key)", "generation": "\(status.generation ?? 0)", "endpoints": "\(status.endpoints?.count ?? 0)"])
        } catch where error.code == .notFound {}
    }
}
