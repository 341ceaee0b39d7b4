import KumoModel

/// What the workload reconciler asks its shell to do. The shell applies them in order; each is idempotent
/// enough that a lost or repeated action is corrected by the next reconcile.
public enum WorkloadAction: Sendable, Equatable {
    /// Create Replica `replicaName` from `template` (see `WorkloadLabels.replica(named:template:hash:of:)`).
    case create(replicaName: String, template: ReplicaTemplate, hash: String)
    /// Delete (two-phase stop) Replica `replicaName`.
    case delete(replicaName: String, reason: DeleteReason)
    /// Write `Workload.status` (only emitted when it differs from the observed one).
    case updateStatus(WorkloadStatus)
    /// An Event regarding the workload.
    case event(reason: String, message: String, type: EventType)
    /// Set `spec.template` back to the template of revision `toHash` (from `status.revisions`; see
    /// `WorkloadRollout.template(forHash:in:)`): the new revision missed its progress deadline.
    case revert(toHash: String)

    public enum DeleteReason: String, Sendable, Equatable, CaseIterable {
        /// The replica's container exited for good (phase Failed): replaced.
        case failed = "Failed"
        /// The replica's container finished (phase Succeeded); a workload keeps its replicas running: replaced.
        case succeeded = "Succeeded"
        /// More replicas of the current template than `replicas`.
        case scaleDown = "ScaleDown"
        /// An old revision's replica retired by the rolling update.
        case rollingUpdate = "RollingUpdate"
        /// Its workload no longer exists.
        case orphaned = "Orphaned"
    }
}
