import Foundation
import KumoModel
import KumoScheduler
import Logging
import ServiceLifecycle
import Synchronization

/// Places unbound replicas and instances (VMs): watches Nodes, Replicas and Instances, runs the pure `Scheduler` over a snapshot of them, and
/// binds each placed replica (node + address + explanation, one write). A replica that fits nowhere stays
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
    let nodes = ObjectCache(kind: .node)
    let replicas = ObjectCache(kind: .replica)
    let instances = ObjectCache(kind: .instance)
    let queue = WorkQueue()
    let retryInterval: Duration
    let pending = Mutex<[String: String]>([:])  // key → last reason reported
    let stats = Mutex<(attempts: Int, placed: Int, unschedulable: Int, lastLatencyMs: Double)>((0, 0, 0, 0))

    public init(plane: any ControlPlane, options: SchedulerOptions = SchedulerOptions(), retryInterval: Duration = .seconds(5), logger: Logger) {
        self.plane = plane
        self.scheduler = Scheduler(options: options)
        self.retryInterval = retryInterval
        self.logger = logger
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.nodes.run(self.plane, logger: self.logger) { _ in self.retryPending() } }
            group.addTask { await self.replicas.run(self.plane, logger: self.logger) { event in self.observe(event) } }
            group.addTask {
                await self.instances.run(self.plane, logger: self.logger) { event in self.observe(event, kind: .instance) }
            }
            group.addTask { await self.work() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.retryInterval)
                    self.retryPending()
                }
            }
            try? await gracefulShutdown()
            queue.close()
            group.cancelAll()
        }
    }

    /// Work-queue keys: replicas by their cache key, instances prefixed with `instance:`.
    static let instancePrefix = "instance:"

    func observe(_ event: ObjectEvent, kind: Kind = .replica) {
        let key = (kind == .instance ? Self.instancePrefix : "") + ObjectCache.key(event.object)
        if event.type == .deleted {
            _ = pending.withLock { $0.removeValue(forKey: key) }
            return
        }
        // unplaced, or placed by hand (spec.nodeName given) but without an address yet
        if event.object["spec"]?["nodeName"]?.stringValue == nil || event.object["spec"]?["network"] == nil {
            queue.add(key)
        }
    }

    func retryPending() {
        for key in pending.withLock({ Array($0.keys) }) { queue.add(key) }
    }

    /// State for `/debug/state`.
    public func snapshot() -> JSONValue {
        let s = stats.withLock { $0 }
        return .object([
            "queueDepth": .number(Double(queue.depth)), "pending": .number(Double(pending.withLock { $0.count })),
            "attempts": .number(Double(s.attempts)), "placed": .number(Double(s.placed)),
            "unschedulable": .number(Double(s.unschedulable)), "lastPlacementMs": .number(s.lastLatencyMs),
            "nodesCached": .number(Double(nodes.count)), "replicasCached": .number(Double(replicas.count)),
            "instancesCached": .number(Double(instances.count)),
        ])
    }

    func work() async {
        await queue.process(logger: logger, what: "scheduling") { key in try await self.place(key) }
    }

    func place(_ key: String) async throws(KumoError) {
        if key.hasPrefix(Self.instancePrefix) { return try await placeInstance(key) }
        guard let json = replicas.get(key), json["status"]?["phase"]?.stringValue != "Terminating",
            json["spec"]?["nodeName"]?.stringValue == nil || json["spec"]?["network"] == nil
        else {
            _ = pending.withLock { $0.removeValue(forKey: key) }
            return
        }
        if let pinned = json["spec"]?["nodeName"]?.stringValue {
            // placed by hand: the node is chosen; IPAM still gives it an address (same one-write binding)
            let project = json["metadata"]?["project"]?.stringValue ?? ""
            let name = json["metadata"]?["name"]?.stringValue ?? ""
            let bound = try await plane.bind(
                .replica, project: project, name: name, node: pinned, manager: Self.manager,
                annotations: [Self.explanationAnnotation: #"{"pinned":"spec.nodeName was set by its creator"}"#])
            replicas.remember(bound)
            _ = pending.withLock { $0.removeValue(forKey: key) }
            return
        }
        let start = ContinuousClock.now
        let replica = try decode(json, as: Replica.self)
        let nodeObjects = nodes.decoded(as: Node.self, logger: logger)
        let bound = replicas.decoded(as: Replica.self, logger: logger).filter { $0.spec.nodeName != nil }
        let snapshot = self.schedulingSnapshot(nodes: nodeObjects, replicas: bound)
        let group = Self.group(of: replica)
        let request = PlacementRequest(replica: replica, group: group, antiAffinity: group == nil ? .none : .preferred)
        let decision = scheduler.schedule(request, in: snapshot)
        let project = replica.metadata.project ?? ""
        switch decision {
        case .placed(let node, let explanation):
            let text = Self.json(explanation)
            let bound = try await plane.bind(
                .replica, project: project, name: replica.metadata.name, node: node, manager: Self.manager,
                annotations: [Self.explanationAnnotation: text])
            replicas.remember(bound)
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
