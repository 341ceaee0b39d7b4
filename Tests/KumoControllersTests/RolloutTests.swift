import KumoControllers
import KumoModel
import Testing

@Suite("Rollout: progress deadline, auto-revert, undo, history, orphans")
struct RolloutTests {
    let v1 = Fixtures.hash("web:1")
    let v2 = Fixtures.hash("web:2")

    func progressing(_ sim: WorkloadSim) -> Condition? {
        sim.workload.status?.conditions?.first { $0.type == "Progressing" }
    }

    @Test func brokenVersionAutoRevertsAfterTheDeadline() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 3))
        sim.options.progressDeadline = .seconds(30)
        sim.settle()
        sim.trace = []
        let started = sim.now

        // web:2 starts but never passes its readiness probe.
        sim.workload.spec.template = Fixtures.template("web:2")
        sim.reconcile()
        for n in sim.starting() { sim.runUnready(n) }
        #expect(progressing(sim)?.reason == "RollingOut")
        #expect(progressing(sim)?.lastTransitionTime == started.rfc3339)

        sim.advance(.seconds(29))
        var suffixes = NameSuffixes(seed: 9)
        let plan = WorkloadReconciler(
            workload: sim.workload, replicas: Array(sim.replicas.values), now: sim.now, options: sim.options
        ).plan(suffixes: &suffixes)
        #expect(plan.requeueAt == started + .seconds(30), "the shell is told when to look again")
        sim.reconcile()
        #expect(sim.alive.count == 4, "still waiting: no surge room, nothing ready to spare")

        sim.advance(.seconds(1))
        let actions = sim.reconcile()
        #expect(actions.last == .revert(toHash: v1))
        #expect(actions.creates.isEmpty && actions.deletes.isEmpty, "a reverting reconcile does nothing else")
        #expect(progressing(sim)?.status == .false)
        #expect(progressing(sim)?.reason == "ProgressDeadlineExceeded")
        #expect(
            progressing(sim)?.message
                == "revision \(v2) did not complete within 30s: 0 of 3 replicas ready; reverting to revision \(v1)")
        #expect(sim.workload.status?.currentRevision == v1)
        #expect(sim.workload.spec.template == Fixtures.template("web:1"), "the simulated shell applied the revert")

        sim.settle()
        #expect(
            sim.trace == [
                "+v2#1 !RolloutStarted !ReplicasCreated",
                "  ~v2#1 running, not ready",
                "  ~29s later",
                "·",
                "  ~1s later",
                "!ProgressDeadlineExceeded !RolloutReverted revert→v1",
                "-v2#1(RollingUpdate) !RollingBack !ReplicasDeleted",  // v1 is the template again: v2 is old
                "  ~v2#1 gone",
                "·",  // complete: status only (Progressing NewRevisionAvailable)
                "·",  // steady
            ])
        #expect(sim.alive.count == 3)
        #expect(sim.alive.allSatisfy { $0.templateHash == v1 && $0.isReady })
        #expect(progressing(sim)?.reason == "NewRevisionAvailable")
        #expect(sim.workload.status?.revisions?.map(\.hash) == [v2, v1], "the rollback made v1 the newest")
        #expect(WorkloadRollout.undo(sim.workload) == Fixtures.template("web:2"))
    }

    @Test func exceededDeadlineWithoutAutoRevertKeepsTrying() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 2))
        sim.options = WorkloadReconciler.Options(progressDeadline: .seconds(10), autoRevert: false)
        sim.settle()
        sim.workload.spec.template = Fixtures.template("web:2")
        sim.reconcile()
        sim.advance(.seconds(11))
        let actions = sim.reconcile()
        #expect(actions.revertTarget == nil)
        #expect(actions.eventReasons == ["ProgressDeadlineExceeded"])
        #expect(progressing(sim)?.reason == "ProgressDeadlineExceeded")
        #expect(WorkloadRollout.status(sim.workload).state == .failed)
        // The event is written once; the condition stays until the rollout completes.
        #expect(sim.reconcile().eventReasons.isEmpty)
        sim.settle()
        #expect(progressing(sim)?.reason == "NewRevisionAvailable")
        #expect(WorkloadRollout.status(sim.workload).state == .complete)
        #expect(sim.workload.status?.currentRevision == v2)
    }

    @Test func revertIsLevelTriggeredUntilTheTemplateChanges() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 1))
        sim.options.progressDeadline = .seconds(5)
        sim.settle()
        sim.workload.spec.template = Fixtures.template("web:2")
        sim.reconcile()
        sim.advance(.seconds(5))
        var suffixes = NameSuffixes(seed: 3)
        let reconciler = { (w: Workload) in
            WorkloadReconciler(workload: w, replicas: Array(sim.replicas.values), now: sim.now, options: sim.options)
        }
        let first = reconciler(sim.workload).reconcile(suffixes: &suffixes)
        #expect(first.revertTarget == v1)
        // Say the shell failed to apply it: the next reconcile asks again, without repeating the events.
        var observed = sim.workload
        observed.status = first.newStatus
        let again = reconciler(observed).reconcile(suffixes: &suffixes)
        #expect(again == [.revert(toHash: v1)])
    }

    @Test func revertNeedsTheTemplateInHistory() {
        var workload = Fixtures.workload(replicas: 1, image: "web:2")
        let started = Fixtures.t0.rfc3339
        workload.status = WorkloadStatus(
            currentRevision: v1, updateRevision: v2,
            revisions: [WorkloadRevision(hash: v2, template: Fixtures.template("web:2"))],
            conditions: [
                Condition(type: "Progressing", status: .true, reason: "RollingOut", lastTransitionTime: started)
            ])
        var suffixes = NameSuffixes(seed: 1)
        let actions = WorkloadReconciler(
            workload: workload, replicas: [Fixtures.replica("old", hash: v1)], now: Fixtures.t0 + .seconds(600)
        ).reconcile(suffixes: &suffixes)
        #expect(actions.revertTarget == nil)
        let condition = actions.newStatus?.conditions?.first { $0.type == "Progressing" }
        #expect(condition?.message?.hasSuffix("cannot revert: revision \(v1) is not in status.revisions") == true)
    }

    @Test func initialCreationThatMissesTheDeadlineDoesNotRevert() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 1))
        sim.options.progressDeadline = .seconds(5)
        sim.reconcile()
        sim.advance(.seconds(6))
        let actions = sim.reconcile()
        #expect(actions.revertTarget == nil)
        #expect(actions.eventReasons == ["ProgressDeadlineExceeded"])
        #expect(progressing(sim)?.message == "revision \(v1) did not complete within 5s: 0 of 1 replicas ready")
    }

    @Test func undoReturnsThePreviousRevision() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 2))
        #expect(WorkloadRollout.undo(sim.workload) == nil, "no status yet")
        sim.settle()
        #expect(WorkloadRollout.undo(sim.workload) == nil, "only one revision")
        sim.workload.spec.template = Fixtures.template("web:2")
        sim.settle()
        #expect(WorkloadRollout.undo(sim.workload) == Fixtures.template("web:1"))

        // Apply the undo: a rollout back to web:1; undo again toggles.
        sim.workload.spec.template = WorkloadRollout.undo(sim.workload)!
        sim.settle()
        #expect(sim.alive.allSatisfy { $0.templateHash == v1 })
        #expect(sim.workload.status?.revisions?.map(\.hash) == [v2, v1])
        #expect(WorkloadRollout.undo(sim.workload) == Fixtures.template("web:2"))
        #expect(WorkloadRollout.undo(sim.workload, toHash: v1) == Fixtures.template("web:1"))
        #expect(WorkloadRollout.undo(sim.workload, toHash: "nope") == nil)
        #expect(sim.events.filter { $0.reason == "RolloutStarted" }.count == 2, "an undo is an ordinary rollout")
    }

    @Test func rolloutStatusForTheCLI() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 2))
        #expect(WorkloadRollout.status(sim.workload).state == .pending)
        sim.reconcile()
        #expect(WorkloadRollout.status(sim.workload) == (.progressing, "0 of 2 replicas of revision \(v1) ready"))
        sim.settle()
        #expect(
            WorkloadRollout.status(sim.workload) == (.complete, "revision \(v1) is available: 2 of 2 replicas ready"))
        sim.workload.spec.template = Fixtures.template("web:2")
        #expect(WorkloadRollout.status(sim.workload).state == .pending)
    }

    struct HistoryCase: Sendable, CustomTestStringConvertible {
        var limit: Int?
        var rollouts: [String]
        var kept: [String]
        var testDescription: String { "limit \(limit.map(String.init) ?? "default"): \(rollouts)" }
    }

    @Test(arguments: [
        HistoryCase(limit: nil, rollouts: ["web:2", "web:3"], kept: ["web:1", "web:2", "web:3"]),
        HistoryCase(limit: 1, rollouts: ["web:2", "web:3", "web:4"], kept: ["web:3", "web:4"]),
        HistoryCase(limit: 0, rollouts: ["web:2"], kept: ["web:2"]),
        HistoryCase(limit: 2, rollouts: ["web:2", "web:1", "web:3"], kept: ["web:2", "web:1", "web:3"]),
        HistoryCase(
            limit: nil, rollouts: (2...14).map { "web:\($0)" }, kept: (4...14).map { "web:\($0)" }),
    ])
    func revisionHistoryLimit(_ c: HistoryCase) {
        var sim = WorkloadSim(Fixtures.workload(replicas: 1, revisionHistoryLimit: c.limit))
        sim.settle()
        for image in c.rollouts {
            sim.workload.spec.template = Fixtures.template(image)
            sim.settle()
        }
        #expect(sim.workload.status?.revisions?.map(\.hash) == c.kept.map(Fixtures.hash))
    }

    @Test func historyKeepsTheCurrentRevisionDuringARolloutEvenAtLimitZero() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 1, revisionHistoryLimit: 0))
        sim.settle()
        sim.workload.spec.template = Fixtures.template("web:2")
        sim.reconcile()
        #expect(sim.workload.status?.revisions?.map(\.hash) == [v1, v2], "v1 is the revert target")
        sim.settle()
        #expect(sim.workload.status?.revisions?.map(\.hash) == [v2])
    }

    @Test func orphansOfDeletedWorkloadsAreDeleted() {
        let replicas = [
            Fixtures.replica("web-a", workload: "web", hash: v1),
            Fixtures.replica("gone-b", workload: "gone", hash: v1),
            Fixtures.replica("gone-a", workload: "gone", hash: v1),
            Fixtures.replica("gone-c", workload: "gone", hash: v1, phase: .terminating),
            ReplicaSnapshot(name: "by-hand", project: "demo"),
            {
                var r = Fixtures.replica("web-other-project", workload: "web", hash: v1)
                r.project = "other"
                return r
            }(),
        ]
        let actions = WorkloadReconciler.orphans(
            replicas: replicas, existingWorkloads: [.init(project: "demo", name: "web")])
        #expect(
            actions == [
                .delete(replicaName: "gone-a", reason: .orphaned), .delete(replicaName: "gone-b", reason: .orphaned),
                .delete(replicaName: "web-other-project", reason: .orphaned),
            ])
    }

    @Test func orphansFromObjects() {
        let workload = Fixtures.workload()
        let keep = WorkloadLabels.replica(named: "web-1", template: workload.spec.template, hash: v1, of: workload)
        var other = Fixtures.workload("api")
        other.metadata.project = "demo"
        let orphan = WorkloadLabels.replica(named: "api-1", template: other.spec.template, hash: v1, of: other)
        #expect(
            WorkloadReconciler.orphans(replicas: [keep, orphan], existingWorkloads: [workload])
                == [.delete(replicaName: "api-1", reason: .orphaned)])
    }
}
