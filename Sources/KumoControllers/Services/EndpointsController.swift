import Foundation
import KumoModel
import Logging
import ServiceLifecycle
import Synchronization

/// Runs `ServiceEndpoints`: watches Services and Replicas and writes each service's `status` (endpoints,
/// generation, reason) whenever its set of serving replicas changes. A replica marked Terminating leaves at once,
/// which is what lets its agent drain it before SIGTERM.
public final class EndpointsController: ServiceLifecycle.Service, Sendable {
    public static let manager = "endpoints"

    let plane: any ControlPlane
    let logger: Logger
    let services = ObjectCache(kind: .service)
    let replicas = ObjectCache(kind: .replica)
    let queue = WorkQueue()
    private let counters = Mutex<(reconciles: Int, writes: Int)>((0, 0))

    public init(plane: any ControlPlane, logger: Logger) {
        self.plane = plane
        self.logger = logger
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.services.run(self.plane, logger: self.logger) { event in
                    self.queue.add(ObjectCache.key(event.object))
                }
            }
            group.addTask {
                await self.replicas.run(self.plane, logger: self.logger) { event in
                    guard let project = event.object["metadata"]?["project"]?.stringValue else { return }
                    let labels = (event.object["metadata"]?["labels"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
                    for s in self.services.all where s["metadata"]?["project"]?.stringValue == project {
                        let selector = (s["spec"]?["selector"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
                        if ServiceEndpoints.selects(selector, labels) { self.queue.add(ObjectCache.key(s)) }
                    }
                }
            }
            group.addTask {
                await self.queue.process(logger: self.logger, what: "endpoints reconcile") { key in
                    try await self.reconcile(key)
                }
            }
            group.addTask {
                // resync: a replica event that arrived before its service was cached is picked up here
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(5))
                    for s in self.services.all { self.queue.add(ObjectCache.key(s)) }
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
            "queueDepth": .number(Double(queue.depth)), "servicesCached": .number(Double(services.count)),
            "replicasCached": .number(Double(replicas.count)), "reconciles": .number(Double(c.reconciles)),
            "statusWrites": .number(Double(c.writes)),
        ])
    }

    func reconcile(_ key: String) async throws(KumoError) {
        counters.withLock { $0.reconciles += 1 }
        guard let json = services.get(key), let project = json["metadata"]?["project"]?.stringValue,
            let name = json["metadata"]?["name"]?.stringValue
        else { return }
        let service = try decode(json, as: Service.self)
        let mine = replicas.all.filter { $0["metadata"]?["project"]?.stringValue == project }.compactMap {
            replicas.decode($0, as: Replica.self, logger: logger)
        }
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
