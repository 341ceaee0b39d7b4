import KumoControllers
import KumoModel

enum Fixtures {
    /// 2026-01-01T00:00:00Z
    static let t0 = Timestamp(secondsSinceEpoch: 1_767_225_600)

    static func template(_ image: String = "web:1", labels: [String: String] = ["app": "web"]) -> ReplicaTemplate {
        ReplicaTemplate(labels: labels, spec: ReplicaSpec(image: image))
    }

    static func workload(
        _ name: String = "web", replicas: Int = 3, image: String = "web:1", strategy: RolloutStrategy? = nil,
        revisionHistoryLimit: Int? = nil, status: WorkloadStatus? = nil
    ) -> Workload {
        Workload(
            metadata: ObjectMeta(name: name, project: "demo"),
            spec: WorkloadSpec(
                replicas: replicas, template: template(image), strategy: strategy,
                revisionHistoryLimit: revisionHistoryLimit),
            status: status)
    }

    static func replica(
        _ name: String, workload: String = "web", hash: String?, phase: ReplicaPhase? = .running, ready: Bool = true,
        node: String? = "n1", createdAt: Timestamp = t0, exitCode: Int? = nil
    ) -> ReplicaSnapshot {
        ReplicaSnapshot(
            name: name, project: "demo", workload: workload, templateHash: hash, phase: phase, ready: ready,
            nodeName: node, createdAt: createdAt, exitCode: exitCode)
    }

    static func hash(_ image: String) -> String { TemplateHash.of(template(image)) }
}

extension WorkloadAction {
    var createdName: String? {
        if case .create(let name, _, _) = self { return name }
        return nil
    }
    var deleted: (name: String, reason: DeleteReason)? {
        if case .delete(let name, let reason) = self { return (name, reason) }
        return nil
    }
    var status: WorkloadStatus? {
        if case .updateStatus(let s) = self { return s }
        return nil
    }
    var eventReason: String? {
        if case .event(let reason, _, _) = self { return reason }
        return nil
    }
    var revertTarget: String? {
        if case .revert(let hash) = self { return hash }
        return nil
    }
}

extension [WorkloadAction] {
    var creates: [String] { compactMap(\.createdName) }
    var deletes: [String] { compactMap { $0.deleted?.name } }
    var eventReasons: [String] { compactMap(\.eventReason) }
    var newStatus: WorkloadStatus? { compactMap(\.status).last }
    var revertTarget: String? { compactMap(\.revertTarget).last }
}
