import KumoModel

/// Deleting a Workload deletes its Replicas: replicas whose workload label names a workload that no longer
/// exists are deleted (reason `Orphaned`).
extension WorkloadReconciler {
    /// A workload's identity for orphan detection: project and name.
    public struct WorkloadKey: Sendable, Hashable {
        public var project: String?
        public var name: String

        public init(project: String?, name: String) {
            self.project = project
            self.name = name
        }

        public init(_ workload: Workload) {
            self.init(project: workload.metadata.project, name: workload.metadata.name)
        }
    }

    /// Deletes for the replicas that carry a `kumo.dev/workload` label naming no workload in
    /// `existingWorkloads` (same project). Replicas without the label (created by hand) and replicas already
    /// terminating are left alone. Sorted by project, then name.
    public static func orphans(replicas: [ReplicaSnapshot], existingWorkloads: Set<WorkloadKey>) -> [WorkloadAction] {
        replicas
            .filter { r in
                guard let owner = r.workload, !r.isTerminating else { return false }
                return !existingWorkloads.contains(WorkloadKey(project: r.project, name: owner))
            }
            .sorted { ($0.project ?? "", $0.name) < ($1.project ?? "", $1.name) }
            .map { .delete(replicaName: $0.name, reason: .orphaned) }
    }

    public static func orphans(replicas: [Replica], existingWorkloads: [Workload]) -> [WorkloadAction] {
        orphans(
            replicas: replicas.map(ReplicaSnapshot.init),
            existingWorkloads: Set(existingWorkloads.map(WorkloadKey.init)))
    }
}
