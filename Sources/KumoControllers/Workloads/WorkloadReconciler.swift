import KumoModel

/// The workload controller's decision: from one Workload and its Replicas at time `now`, the actions that move
/// the replicas towards `spec` (scale, self-heal, rolling update, auto-revert) and the status to report.
///
/// Pure: no I/O, no clock, no randomness except the injected `NameSuffixSource`. The shell lists, calls
/// `reconcile`, applies the actions, and calls again on the next change (or at `Plan.requeueAt`).
///
/// Rules (see DESIGN.md "Rollouts"):
/// - Replicas are this workload's when their `kumo.dev/workload` label names it; their revision is their
///   `kumo.dev/template-hash` label. "New" = the hash of `spec.template`; every other hash is "old".
/// - Finished replicas (phase Failed or Succeeded: the agent has given up restarting them under their
///   `restartPolicy`) are deleted and replaced.
/// - Creations never bring the total (alive + terminating + finished) above `replicas + maxSurge`; this holds
///   always, not only during a rollout, so a replacement waits for a terminating replica when maxSurge is 0.
/// - While old replicas remain: deletions of ready replicas never bring ready (old + new) below
///   `replicas - maxUnavailable`; unready old replicas are cleaned up first (as Kubernetes does); new
///   replicas are created as surge room appears, so the rollout advances only as new replicas become Ready.
/// - Scale-down picks unscheduled, then less advanced (Pending < Unknown < Starting < Running), then unready,
///   then newest replicas; old revisions go oldest revision first.
/// - Progress deadline: a rollout (or scale-up) episode starts when `Progressing` gets its reason
///   (`RollingOut` / `ScalingReplicas`) or `updateRevision` changes; if not complete within
///   `options.progressDeadline`, `Progressing` turns False `ProgressDeadlineExceeded` and, when the new
///   revision differs from `currentRevision` (the last completely rolled out one) and its template is in
///   `status.revisions`, the reconciler asks for `.revert(toHash: currentRevision)` and does nothing else.
public struct WorkloadReconciler: Sendable {
    public struct Options: Sendable, Equatable {
        /// How long a rollout (or scale-up) may take before `ProgressDeadlineExceeded`.
        public var progressDeadline: Duration
        /// Revert the template to `currentRevision` when the deadline passes during a rollout.
        public var autoRevert: Bool

        public static let defaultProgressDeadline = Duration.seconds(120)
        public static let defaultRevisionHistoryLimit = 10

        public init(progressDeadline: Duration = Self.defaultProgressDeadline, autoRevert: Bool = true) {
            self.progressDeadline = progressDeadline
            self.autoRevert = autoRevert
        }
    }

    /// The decision of one reconcile.
    public struct Plan: Sendable, Equatable {
        public var actions: [WorkloadAction]
        /// The status as computed (also in `actions` as `.updateStatus` when it changed).
        public var status: WorkloadStatus
        /// When the progress deadline of the running episode passes (reconcile again then), if one runs.
        public var requeueAt: Timestamp?
    }

    public static let progressing = "Progressing"
    public static let available = "Available"

    public var workload: Workload
    /// This workload's replicas (others in the input are ignored), sorted by name.
    public var replicas: [ReplicaSnapshot]
    public var now: Timestamp
    public var options: Options

    public init(workload: Workload, replicas: [ReplicaSnapshot], now: Timestamp, options: Options = Options()) {
        self.workload = workload
        let name = workload.metadata.name
        let project = workload.metadata.project
        self.replicas = replicas.filter {
            $0.workload == name && ($0.project == nil || project == nil || $0.project == project)
        }.sorted { $0.name < $1.name }
        self.now = now
        self.options = options
    }

    public init(workload: Workload, replicas: [Replica], now: Timestamp, options: Options = Options()) {
        self.init(workload: workload, replicas: replicas.map(ReplicaSnapshot.init), now: now, options: options)
    }

    /// The actions of `plan(suffixes:)`.
    public func reconcile(suffixes: inout some NameSuffixSource) -> [WorkloadAction] {
        plan(suffixes: &suffixes).actions
    }

    public func plan(suffixes: inout some NameSuffixSource) -> Plan {
        let view = View(self)
        let progress = progressing(view)
        var actions: [WorkloadAction] = []
        var events: [WorkloadAction] = []

        events += rolloutEvents(view, progress)
        if progress.revert, let target = view.rolloutFrom {
            let status = status(view, progressing: progress.condition)
            actions = events
            if status != workload.status { actions.append(.updateStatus(status)) }
            actions.append(.revert(toHash: target))
            return Plan(actions: actions, status: status, requeueAt: nil)
        }

        // Self-heal: finished replicas go, and are replaced below (they no longer count as alive).
        for r in view.finished {
            let failed = r.phase == .failed
            actions.append(.delete(replicaName: r.name, reason: failed ? .failed : .succeeded))
            let code = r.exitCode.map { " (exit code \($0))" } ?? ""
            events.append(
                .event(
                    reason: failed ? "ReplicaFailed" : "ReplicaSucceeded",
                    message: "replica \(r.name) \(failed ? "failed" : "exited")\(code); replacing it",
                    type: failed ? .warning : .normal))
        }

        // Scale up the new revision within the surge room.
        let room = view.desired + view.maxSurge - view.total
        let creates = max(0, min(view.desired - view.newAlive.count, room))
        var taken = Set(replicas.map(\.name))
        var created: [String] = []
        for _ in 0..<creates {
            let name = uniqueName(hash: view.newHash, taken: taken, suffixes: &suffixes)
            taken.insert(name)
            created.append(name)
            actions.append(.create(replicaName: name, template: workload.spec.template, hash: view.newHash))
        }

        // Scale down.
        let deletions = scaleDown(view)
        for (r, reason) in deletions { actions.append(.delete(replicaName: r.name, reason: reason)) }

        if !created.isEmpty {
            events.append(
                .event(
                    reason: "ReplicasCreated",
                    message: "created \(Self.count(created.count, "replica")) of revision \(view.newHash): "
                        + created.joined(separator: ", "),
                    type: .normal))
        }
        for reason in WorkloadAction.DeleteReason.allCases {
            let names = deletions.filter { $0.1 == reason }.map(\.0.name)
            guard !names.isEmpty else { continue }
            events.append(
                .event(
                    reason: "ReplicasDeleted",
                    message: "deleted \(Self.count(names.count, "replica")) (\(reason.rawValue)): "
                        + names.joined(separator: ", "),
                    type: .normal))
        }

        let status = status(view, progressing: progress.condition)
        actions += events
        if status != workload.status { actions.append(.updateStatus(status)) }
        return Plan(actions: actions, status: status, requeueAt: progress.deadline)
    }

    // MARK: Scale down

    /// Replicas to delete (not counting finished ones), in order.
    func scaleDown(_ view: View) -> [(ReplicaSnapshot, WorkloadAction.DeleteReason)] {
        var out: [(ReplicaSnapshot, WorkloadAction.DeleteReason)] = []
        let surplus = view.newAlive.count - view.desired
        if view.oldAlive.isEmpty {
            // Steady state: the desired count went down.
            for r in Self.deletionOrder(view.newAlive).prefix(max(0, surplus)) { out.append((r, .scaleDown)) }
            return out
        }
        // Rolling: keep at least minAvailable ready replicas.
        var readyBudget = view.oldReady + view.newReady - view.minAvailable
        if surplus > 0 {
            var left = surplus
            for r in Self.deletionOrder(view.newAlive) where left > 0 {
                if r.isReady {
                    guard readyBudget > 0 else { continue }
                    readyBudget -= 1
                }
                out.append((r, .scaleDown))
                left -= 1
            }
        }
        let oldOrder = oldDeletionOrder(view)
        // Unready old replicas first, unless the new ones are not ready either (Kubernetes' cleanup rule).
        var cleanup =
            view.oldAlive.count + view.newAlive.count - view.minAvailable - (view.newAlive.count - view.newReady)
        for r in oldOrder where !r.isReady && cleanup > 0 {
            out.append((r, .rollingUpdate))
            cleanup -= 1
        }
        for r in oldOrder where r.isReady && readyBudget > 0 {
            out.append((r, .rollingUpdate))
            readyBudget -= 1
        }
        return out
    }

    /// Old replicas, oldest revision first (position in `status.revisions`; unknown hashes first), then by
    /// `deletionOrder`.
    func oldDeletionOrder(_ view: View) -> [ReplicaSnapshot] {
        var age: [String: Int] = [:]
        for (i, r) in (workload.status?.revisions ?? []).enumerated() { age[r.hash] = i }
        let ordered = Self.deletionOrder(view.oldAlive)
        let position = Dictionary(uniqueKeysWithValues: ordered.enumerated().map { ($1.name, $0) })
        return ordered.sorted {
            let a = $0.templateHash.flatMap { age[$0] } ?? -1
            let b = $1.templateHash.flatMap { age[$0] } ?? -1
            return a != b ? a < b : position[$0.name]! < position[$1.name]!
        }
    }

    /// Which replicas to delete first: unscheduled, less advanced phase, unready, newest, then name (last first).
    public static func deletionOrder(_ replicas: [ReplicaSnapshot]) -> [ReplicaSnapshot] {
        func phaseRank(_ p: ReplicaPhase?) -> Int {
            switch p {
            case nil, .pending, .scheduled: 0
            case .unknown: 1
            case .starting: 2
            case .running, .terminating, .succeeded, .failed: 3
            }
        }
        return replicas.sorted { a, b in
            let sa = a.nodeName == nil ? 0 : 1
            let sb = b.nodeName == nil ? 0 : 1
            if sa != sb { return sa < sb }
            if phaseRank(a.phase) != phaseRank(b.phase) { return phaseRank(a.phase) < phaseRank(b.phase) }
            if a.isReady != b.isReady { return !a.isReady }
            let ta = a.createdAt ?? Timestamp(millisecondsSinceEpoch: .max)
            let tb = b.createdAt ?? Timestamp(millisecondsSinceEpoch: .max)
            if ta != tb { return ta > tb }
            return a.name > b.name
        }
    }

    func uniqueName(hash: String, taken: Set<String>, suffixes: inout some NameSuffixSource) -> String {
        var name = ""
        repeat {
            name = WorkloadLabels.replicaName(workload: workload.metadata.name, hash: hash, suffix: suffixes.next())
        } while taken.contains(name)
        return name
    }

    static func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
}

extension WorkloadReconciler {
    /// The observed state, classified once.
    struct View {
        let newHash: String
        let desired: Int
        let maxSurge: Int
        let maxUnavailable: Int
        let minAvailable: Int
        let finished: [ReplicaSnapshot]
        let terminating: [ReplicaSnapshot]
        let newAlive: [ReplicaSnapshot]
        let oldAlive: [ReplicaSnapshot]
        let newReady: Int
        let oldReady: Int
        /// The last completely rolled-out revision (`status.currentRevision`, or a guess when absent).
        let currentRevision: String

        init(_ r: WorkloadReconciler) {
            let spec = r.workload.spec
            let hash = TemplateHash.of(spec.template)
            newHash = hash
            desired = max(0, spec.replicas)
            (maxSurge, maxUnavailable) = (spec.strategy ?? RolloutStrategy()).resolve(replicas: desired)
            minAvailable = max(0, desired - maxUnavailable)
            finished = r.replicas.filter(\.isFinished)
            terminating = r.replicas.filter(\.isTerminating)
            let alive = r.replicas.filter(\.isAlive)
            newAlive = alive.filter { $0.templateHash == hash }
            oldAlive = alive.filter { $0.templateHash != hash }
            newReady = newAlive.count { $0.isReady }
            oldReady = oldAlive.count { $0.isReady }
            if let current = r.workload.status?.currentRevision {
                currentRevision = current
            } else {
                // No status yet: the revision most old replicas run, else the template's.
                var counts: [String: Int] = [:]
                for o in oldAlive { if let h = o.templateHash { counts[h, default: 0] += 1 } }
                currentRevision =
                    counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? hash
            }
        }

        /// Everything that occupies resources: alive, terminating and finished replicas.
        var total: Int { newAlive.count + oldAlive.count + terminating.count + finished.count }

        /// All `desired` replicas run the new revision and are ready; no old ones are left alive.
        var complete: Bool { oldAlive.isEmpty && newAlive.count == desired && newReady == desired }

        /// The revision a rollout would revert to (nil when the template is the current revision).
        var rolloutFrom: String? { currentRevision != newHash ? currentRevision : nil }
    }
}
