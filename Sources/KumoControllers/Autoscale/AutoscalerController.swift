import Foundation
import KumoModel
import Logging
import ServiceLifecycle
import Synchronization

/// Runs `AutoscaleDecision` every `interval` for each Workload with `spec.autoscale`: reads its service's load
/// from every node's HAProxy, writes `status.autoscale` (the reading and its recommendation), and when the
/// desired count differs patches `spec.replicas` (as manager `autoscaler`) and records a `ScaledOut` /
/// `ScaledIn` event carrying the metric values.
public final class AutoscalerController: ServiceLifecycle.Service, Sendable {
    public static let manager = "autoscaler"

    let plane: any ControlPlane
    let metrics: any LoadBalancerMetrics
    let interval: Duration
    let logger: Logger
    /// The run loop, with the caches it reads (the server's shared ones, or its own).
    let loop: ReconcileLoop
    var informers: ControllerInformers { loop.informers }
    var workloads: ObjectCache<WorkloadSpec> { informers.workloads }
    var services: ObjectCache<ServiceSpec> { informers.services }
    var replicas: ObjectCache<ReplicaSpec> { informers.replicas }
    private let history = Mutex<[String: [AutoscaleDecision.Recommendation]]>([:])
    private let counters = Mutex<(rounds: Int, scaleOuts: Int, scaleIns: Int, lastError: String?)>((0, 0, 0, nil))

    /// `informers`: the process's shared caches (the server's); without them the controller makes and runs its own.
    public init(
        plane: any ControlPlane, metrics: any LoadBalancerMetrics, interval: Duration = .seconds(3),
        informers: ControllerInformers? = nil, logger: Logger
    ) {
        self.plane = plane
        self.metrics = metrics
        self.interval = interval
        self.logger = logger
        self.loop = ReconcileLoop(shared: informers, source: plane, what: "autoscale round", logger: logger)
    }

    public func run() async throws {
        await loop.run(every: interval) { await self.round() }
    }

    public func snapshot() -> JSONValue {
        let c = counters.withLock { $0 }
        return [
            "rounds": .number(Double(c.rounds)), "scaleOuts": .number(Double(c.scaleOuts)), "scaleIns": .number(Double(c.scaleIns)),
            "lastError": c.lastError.map { .string($0) } ?? .null,
        ]
    }

    func round() async {
        let scaled = workloads.list().filter { $0.spec.autoscale != nil }
        guard !scaled.isEmpty else { return }
        counters.withLock { $0.rounds += 1 }
        let loads = await metrics.serviceLoads()
        for w in scaled {
            do {
                try await reconcile(w, loads: loads)
            } catch {
                counters.withLock { $0.lastError = error.message }
                logger.warning("autoscale failed", metadata: ["workload": "\(w.metadata.name)", "error": "\(error.message)"])
            }
        }
    }

    /// The service whose figures drive `w`: named in the spec, or the one selecting the template's labels.
    func service(for w: Workload) -> String? {
        let project = w.metadata.project ?? ""
        if let name = w.spec.autoscale?.service { return "\(project)/\(name)" }
        let candidates = services.byIndex(ControllerInformers.byProject, project).filter { $0.spec.selects(w.spec.template.labels) }
        return candidates.map { "\(project)/\($0.metadata.name)" }.sorted().first
    }

    func reconcile(_ w: Workload, loads: [String: ServiceLoad]) async throws(KumoError) {
        guard let spec = w.spec.autoscale, let project = w.metadata.project else { return }
        let key = "\(project)/\(w.metadata.name)"
        let now = Timestamp.now()
        guard let serviceKey = service(for: w) else {
            try await writeStatus(w, AutoscaleStatus(metric: spec.effectiveMetric.rawValue, target: spec.target, lastReadAt: now.rfc3339,
                message: "no service selects this workload's replicas: nothing to measure"))
            return
        }
        let load = loads[serviceKey] ?? ServiceLoad(requestsPerSecond: 0, queue: 0, avgResponseMs: 0, nodes: 0)
        let ready = replicas.byIndex(ControllerInformers.byWorkload, key).filter {
            $0.status?.ready == true && $0.metadata.deletionTimestamp == nil
        }.count
        let current = w.spec.replicas
        let past = history.withLock { h in
            h[key] = (h[key] ?? []).filter { Double(now.millisecondsSinceEpoch - $0.at.millisecondsSinceEpoch) / 1000 <= Double(spec.effectiveWindowSeconds) }
            return h[key] ?? []
        }
        // outside [min, max] (just enabled or edited): clamp first
        var decision = AutoscaleDecision.decide(spec: spec, current: current, ready: ready, load: load, history: past, now: now)
        if load.nodes == 0 && current >= spec.min && current <= spec.max {
            decision.desired = current  // no node answered: never scale on missing data
            decision.message = "holding \(current): no load balancer answered"
        }
        history.withLock { $0[key, default: []].append(.init(at: now, replicas: decision.recommended)) }
        var status = AutoscaleStatus(
            metric: spec.effectiveMetric.rawValue, value: (decision.value * 100).rounded() / 100, target: spec.target,
            recommended: decision.recommended, lastReadAt: now.rfc3339, lastScaleAt: w.status?.autoscale?.lastScaleAt,
            message: decision.message)
        if decision.desired != current {
            let patched = try await plane.patch(
                .workload, project: project, name: w.metadata.name, ["spec": ["replicas": .number(Double(decision.desired))]],
                manager: Self.manager, force: true)
            workloads.remember(patched)
            status.lastScaleAt = now.rfc3339
            let out = decision.desired > current
            counters.withLock { if out { $0.scaleOuts += 1 } else { $0.scaleIns += 1 } }
            await plane.event(
                regarding: .workload, project: project, name: w.metadata.name, reason: out ? "ScaledOut" : "ScaledIn",
                message: decision.message + " (service \(serviceKey))", type: "Normal", source: Self.manager)
            logger.info("autoscaled", metadata: ["workload": "\(key)", "from": "\(current)", "to": "\(decision.desired)"])
        }
        try await writeStatus(w, status)
    }

    func writeStatus(_ w: Workload, _ status: AutoscaleStatus) async throws(KumoError) {
        guard var old = w.status?.autoscale else {
            _ = try await plane.patch(.workload, project: w.metadata.project, name: w.metadata.name, ["status": ["autoscale": encode(status)]], manager: Self.manager, force: true)
            return
        }
        // only meaningful changes are written (every write is history): a new recommendation, a scale, a
        // changed target, or the value moving by more than 20%
        let before = old.value ?? 0, now = status.value ?? 0
        let moved = abs(now - before) > max(abs(before) * 0.2, 0.5)
        old.lastReadAt = status.lastReadAt
        old.value = status.value
        old.message = status.message
        guard old != status || moved else { return }
        workloads.remember(
            try await plane.patch(
                .workload, project: w.metadata.project, name: w.metadata.name, ["status": ["autoscale": encode(status)]],
                manager: Self.manager, force: true))
    }
}
