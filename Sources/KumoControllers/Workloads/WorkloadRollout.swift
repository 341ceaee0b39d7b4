import KumoModel

/// `kumo rollout status` / `kumo rollout undo`: pure reads of a Workload and its `status.revisions`.
public enum WorkloadRollout {
    /// The template to put back for `rollout undo`: the newest revision in `status.revisions` whose hash is
    /// not the hash of the current `spec.template` (so undo twice toggles between two revisions, as
    /// `kubectl rollout undo` does). Nil when there is no other revision.
    public static func undo(_ workload: Workload) -> ReplicaTemplate? {
        let hash = TemplateHash.of(workload.spec.template)
        return workload.status?.revisions?.last { $0.hash != hash }?.template
    }

    /// `rollout undo --to-revision HASH`: that revision's template, if kept.
    public static func undo(_ workload: Workload, toHash hash: String) -> ReplicaTemplate? {
        template(forHash: hash, in: workload)
    }

    /// The template of revision `hash` from `status.revisions`.
    public static func template(forHash hash: String, in workload: Workload) -> ReplicaTemplate? {
        workload.status?.revisions?.last { $0.hash == hash }?.template
    }

    public enum State: String, Sendable, Equatable {
        /// The controller has not reported on the current template yet.
        case pending = "Pending"
        case progressing = "Progressing"
        case complete = "Complete"
        /// `ProgressDeadlineExceeded`.
        case failed = "Failed"
    }

    /// Where the rollout of the current template stands, with a one-line message.
    public static func status(_ workload: Workload) -> (state: State, message: String) {
        let hash = TemplateHash.of(workload.spec.template)
        guard let status = workload.status, status.updateRevision == hash else {
            return (.pending, "waiting for the controller to observe revision \(hash)")
        }
        let progressing = status.conditions?.first { $0.type == WorkloadReconciler.progressing }
        let message = progressing?.message ?? ""
        switch progressing?.reason {
        case WorkloadReconciler.ProgressReason.newRevisionAvailable: return (.complete, message)
        case WorkloadReconciler.ProgressReason.progressDeadlineExceeded: return (.failed, message)
        default:
            return (.progressing, message.isEmpty ? "rolling out revision \(hash)" : message)
        }
    }
}
