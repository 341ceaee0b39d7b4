import KumoInformers
import KumoModel
import Logging
import ServiceLifecycle

/// The typed caches the controllers of one process share: one list + watch per kind, each version decoded once,
/// indexed as the controllers ask (replicas by node, by workload, by project; services by project; instances by
/// node). The server makes one set and hands it to every controller; a controller made without one (a test) makes
/// its own and runs it itself.
///
/// Controllers add their change handlers when they are made, before the set runs (`ObjectCache.onChange`), so the
/// first list reaches every one of them.
public final class ControllerInformers: ServiceLifecycle.Service, Sendable {
    public let nodes: ObjectCache<NodeSpec>
    public let replicas: ObjectCache<ReplicaSpec>
    public let instances: ObjectCache<InstanceSpec>
    public let services: ObjectCache<ServiceSpec>
    public let workloads: ObjectCache<WorkloadSpec>

    /// Index names.
    public static let byNode = "node"
    public static let byWorkload = "workload"
    public static let byProject = "project"

    public init(source: any ObjectSource, logger: Logger) {
        func log(_ kind: String) -> Logger {
            var l = logger
            l[metadataKey: "informer"] = "\(kind)"
            return l
        }
        nodes = ObjectCache(source: source, logger: log("nodes"))
        replicas = ObjectCache(source: source, logger: log("replicas"))
        instances = ObjectCache(source: source, logger: log("instances"))
        services = ObjectCache(source: source, logger: log("services"))
        workloads = ObjectCache(source: source, logger: log("workloads"))
        replicas.addIndex(Self.byNode, ObjectIndexes.replicaNode)
        replicas.addIndex(Self.byWorkload, ObjectIndexes.label(WorkloadLabels.workload))
        replicas.addIndex(Self.byProject, ObjectIndexes.project())
        instances.addIndex(Self.byNode, ObjectIndexes.instanceNode)
        services.addIndex(Self.byProject, ObjectIndexes.project())
    }

    /// Runs every cache until the task is cancelled or a graceful shutdown begins (a server lists it before its
    /// controllers, so it stops after them).
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.nodes.run() }
            group.addTask { await self.replicas.run() }
            group.addTask { await self.instances.run() }
            group.addTask { await self.services.run() }
            group.addTask { await self.workloads.run() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    /// Waits for the first list of every cache: true then, false if the waiting task was cancelled first.
    public func waitForSync() async -> Bool {
        for synced in [nodes.waitForSync, replicas.waitForSync, instances.waitForSync, services.waitForSync, workloads.waitForSync] {
            guard await synced() else { return false }
        }
        return true
    }

    public var hasSynced: Bool {
        nodes.hasSynced && replicas.hasSynced && instances.hasSynced && services.hasSynced && workloads.hasSynced
    }

    /// For `kumo state server`: each cache's objects, revision, lists, watches, 410s, decode failures.
    public func snapshot() -> JSONValue {
        [
            "nodes": nodes.snapshot(), "replicas": replicas.snapshot(), "instances": instances.snapshot(),
            "services": services.snapshot(), "workloads": workloads.snapshot(),
        ]
    }
}
