import KumoModel

/// Status, conditions, revision history and the progress deadline.
extension WorkloadReconciler {
    /// Reasons of the `Progressing` condition.
    public enum ProgressReason {
        /// True: every replica runs the new revision and is ready.
        public static let newRevisionAvailable = "NewRevisionAvailable"
        /// True: old-revision replicas are being replaced.
        public static let rollingOut = "RollingOut"
        /// True: replicas of the current revision are being created or replaced (scale-up, self-heal).
        public static let scalingReplicas = "ScalingReplicas"
        /// False: the episode did not complete within the progress deadline.
        public static let progressDeadlineExceeded = "ProgressDeadlineExceeded"
    }

    struct Progress {
        var condition: Condition
        /// When the running episode's deadline passes (nil when complete or already exceeded).
        var deadline: Timestamp?
        /// The deadline passed in this reconcile (the condition just turned False).
        var exceededNow = false
        /// Ask for `.revert(toHash: currentRevision)`.
        var revert = false
    }

    func progressing(_ view: View) -> Progress {
        let previousStatus = workload.status
        let previous = ConditionList.find(Self.progressing, in: previousStatus?.conditions)
        let revisionChanged = previousStatus?.updateRevision != view.newHash
        let progressDeadline = workload.spec.progressDeadlineSeconds.map { Duration.seconds($0) } ?? options.progressDeadline
        let n = view.desired
        if view.complete {
            let wanted = Condition(
                type: Self.progressing, status: .true, reason: ProgressReason.newRevisionAvailable,
                message: "revision \(view.newHash) is available: \(n) of \(n) replicas ready")
            return Progress(
                condition: ConditionList.stamped(wanted, previous: revisionChanged ? nil : previous, now: now))
        }

        let wantsRevert = options.autoRevert && view.rolloutFrom != nil
        let targetKnown = view.rolloutFrom.map { WorkloadRollout.template(forHash: $0, in: workload) != nil } ?? false
        let reason =
            view.rolloutFrom != nil || !view.oldAlive.isEmpty
            ? ProgressReason.rollingOut : ProgressReason.scalingReplicas
        var sameEpisode = false
        if let previous, !revisionChanged {
            sameEpisode =
                previous.reason == reason || previous.reason == ProgressReason.progressDeadlineExceeded
        }
        if sameEpisode, let previous, previous.reason == ProgressReason.progressDeadlineExceeded {
            return Progress(condition: previous, revert: wantsRevert && targetKnown)
        }
        let started = sameEpisode ? previous?.lastTransitionTime.flatMap { Timestamp(rfc3339: $0) } : nil
        if let started, now >= started + progressDeadline {
            var message =
                "revision \(view.newHash) did not complete within \(progressDeadline.shortDescription): "
                + "\(view.newReady) of \(n) replicas ready"
            if wantsRevert {
                message +=
                    targetKnown
                    ? "; reverting to revision \(view.currentRevision)"
                    : "; cannot revert: revision \(view.currentRevision) is not in status.revisions"
            }
            let condition = Condition(
                type: Self.progressing, status: .false, reason: ProgressReason.progressDeadlineExceeded,
                message: message, lastTransitionTime: now.rfc3339)
            return Progress(condition: condition, exceededNow: true, revert: wantsRevert && targetKnown)
        }
        var message = "\(view.newReady) of \(n) replicas of revision \(view.newHash) ready"
        if !view.oldAlive.isEmpty { message += ", \(view.oldAlive.count) of older revisions left" }
        let start = started ?? now
        let condition = Condition(
            type: Self.progressing, status: .true, reason: reason, message: message,
            lastTransitionTime: started != nil ? previous?.lastTransitionTime : now.rfc3339)
        return Progress(condition: condition, deadline: start + progressDeadline)
    }

    func rolloutEvents(_ view: View, _ progress: Progress) -> [WorkloadAction] {
        var events: [WorkloadAction] = []
        let previousStatus = workload.status
        if previousStatus?.updateRevision != view.newHash {
            let strategy = "maxSurge \(view.maxSurge), maxUnavailable \(view.maxUnavailable)"
            if let from = view.rolloutFrom {
                events.append(
                    .event(
                        reason: "RolloutStarted",
                        message: "rolling out revision \(view.newHash) (from \(from)): \(strategy)", type: .normal))
            } else if let from = previousStatus?.updateRevision {
                events.append(
                    .event(
                        reason: "RollingBack",
                        message: "rolling back to revision \(view.newHash) (from \(from)): \(strategy)",
                        type: .normal))
            }
        }
        if progress.exceededNow {
            events.append(
                .event(
                    reason: ProgressReason.progressDeadlineExceeded, message: progress.condition.message ?? "",
                    type: .warning))
            if progress.revert {
                events.append(
                    .event(
                        reason: "RolloutReverted",
                        message: "reverting the template to revision \(view.currentRevision) "
                            + "(revision \(view.newHash) missed its progress deadline)",
                        type: .warning))
            }
        }
        if view.complete, let before = previousStatus?.currentRevision, before != view.newHash {
            events.append(
                .event(
                    reason: "RolloutComplete",
                    message: "revision \(view.newHash) rolled out (replacing \(before)): "
                        + "\(view.desired) of \(view.desired) replicas ready",
                    type: .normal))
        }
        return events
    }

    func status(_ view: View, progressing: Condition) -> WorkloadStatus {
        var s = workload.status ?? WorkloadStatus()
        let ready = view.oldReady + view.newReady
        s.replicas = view.oldAlive.count + view.newAlive.count
        s.readyReplicas = ready
        s.updatedReplicas = view.newAlive.count
        s.availableReplicas = ready
        let current = view.complete ? view.newHash : view.currentRevision
        s.currentRevision = current
        s.updateRevision = view.newHash
        s.revisions = Self.revisions(
            s.revisions, adding: view.newHash, template: workload.spec.template, now: now,
            keeping: [view.newHash, view.currentRevision, current],
            limit: workload.spec.revisionHistoryLimit ?? Options.defaultRevisionHistoryLimit)

        let isAvailable = ready >= view.minAvailable
        let available = Condition(
            type: Self.available, status: isAvailable ? .true : .false,
            reason: isAvailable ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
            message: "\(ready) of \(view.desired) replicas ready (at least \(view.minAvailable) required)")
        var conditions = s.conditions
        conditions = ConditionList.setting(
            ConditionList.stamped(available, previous: ConditionList.find(Self.available, in: conditions), now: now),
            in: conditions)
        conditions = ConditionList.setting(progressing, in: conditions)
        s.conditions = conditions
        return s
    }

    /// `revisions` (newest last) with `hash` last: appended when new, moved to the end when it was already
    /// there (a rollback makes an old revision the newest). Then trimmed, oldest first, to `limit` entries
    /// before the newest, never removing a hash in `keeping`.
    static func revisions(
        _ revisions: [WorkloadRevision]?, adding hash: String, template: ReplicaTemplate, now: Timestamp,
        keeping: Set<String>, limit: Int
    ) -> [WorkloadRevision] {
        var list = revisions ?? []
        if let i = list.firstIndex(where: { $0.hash == hash }) {
            if i != list.count - 1 { list.append(list.remove(at: i)) }
        } else {
            list.append(WorkloadRevision(hash: hash, createdAt: now.rfc3339, template: template))
        }
        let maxCount = max(0, limit) + 1
        while list.count > maxCount, let i = list.firstIndex(where: { !keeping.contains($0.hash) }) {
            list.remove(at: i)
        }
        return list
    }
}
