import KumoControllers
import KumoModel
import Testing

@Suite("WorkloadReconciler: scale and self-heal")
struct WorkloadScaleTests {
    let v1 = Fixtures.hash("web:1")

    func reconcile(_ workload: Workload, _ replicas: [ReplicaSnapshot], seed: UInt64 = 1) -> [WorkloadAction] {
        var suffixes = NameSuffixes(seed: seed)
        return WorkloadReconciler(workload: workload, replicas: replicas, now: Fixtures.t0)
            .reconcile(suffixes: &suffixes)
    }

    @Test func createsFromNothingWithDeterministicNames() {
        let actions = reconcile(Fixtures.workload(replicas: 3), [])
        #expect(actions.creates.count == 3)
        for name in actions.creates {
            #expect(name.hasPrefix("web-\(v1)-"))
            #expect(name.count == "web-".count + 10 + 1 + 5)
            #expect(Names.validateDNSLabel(name) == nil)
        }
        #expect(Set(actions.creates).count == 3)
        #expect(actions == reconcile(Fixtures.workload(replicas: 3), []), "same seed, same actions")
        for case .create(_, let template, let hash) in actions {
            #expect(template == Fixtures.template("web:1"))
            #expect(hash == v1)
        }
        #expect(actions.eventReasons == ["ReplicasCreated"])
        let status = actions.newStatus
        #expect(status?.replicas == 0)
        #expect(status?.updateRevision == v1)
        #expect(status?.currentRevision == v1)
        #expect(status?.revisions?.map(\.hash) == [v1])
        #expect(status?.revisions?.first?.createdAt == Fixtures.t0.rfc3339)
        let progressing = status?.conditions?.first { $0.type == "Progressing" }
        #expect(progressing?.reason == "ScalingReplicas")
        #expect(progressing?.lastTransitionTime == Fixtures.t0.rfc3339)
    }

    struct ScaleCase: Sendable, CustomTestStringConvertible {
        var label: String
        var desired: Int
        var replicas: [ReplicaSnapshot]
        var creates: Int
        var deletes: [String]
        var testDescription: String { label }
    }

    static let scaleCases: [ScaleCase] = {
        let h = Fixtures.hash("web:1")
        let t = Fixtures.t0
        func r(
            _ name: String, phase: ReplicaPhase? = .running, ready: Bool = true, node: String? = "n1",
            age: Int64 = 0
        ) -> ReplicaSnapshot {
            Fixtures.replica(name, hash: h, phase: phase, ready: ready, node: node, createdAt: t + .seconds(age))
        }
        return [
            ScaleCase(label: "steady", desired: 2, replicas: [r("a"), r("b")], creates: 0, deletes: []),
            ScaleCase(label: "up 2→5", desired: 5, replicas: [r("a"), r("b")], creates: 3, deletes: []),
            ScaleCase(
                label: "down: newest first", desired: 1, replicas: [r("a", age: 1), r("b", age: 3), r("c", age: 2)],
                creates: 0, deletes: ["b", "c"]),
            ScaleCase(
                label: "down: unscheduled before not ready before ready", desired: 1,
                replicas: [
                    r("ready-new", age: 9), r("unready", ready: false, age: 1),
                    r("unscheduled", phase: .pending, ready: false, node: nil, age: 0),
                ],
                creates: 0, deletes: ["unscheduled", "unready"]),
            ScaleCase(
                label: "down: pending before unknown before starting before running", desired: 1,
                replicas: [
                    r("running", age: 9), r("starting", phase: .starting, ready: false),
                    r("unknown", phase: .unknown, ready: false), r("scheduled", phase: .scheduled, ready: false),
                ],
                creates: 0, deletes: ["scheduled", "unknown", "starting"]),
            ScaleCase(
                label: "down: same age → name last first", desired: 1, replicas: [r("a"), r("b"), r("c")], creates: 0,
                deletes: ["c", "b"]),
            ScaleCase(label: "to zero", desired: 0, replicas: [r("a"), r("b")], creates: 0, deletes: ["b", "a"]),
            ScaleCase(
                label: "terminating ones count against the surge room", desired: 4,
                replicas: [r("a"), r("b"), r("c", phase: .terminating), r("d", phase: .terminating)],
                // maxSurge 25% of 4 = 1: room = 4 + 1 - 4 = 1.
                creates: 1, deletes: []),
        ]
    }()

    @Test(arguments: scaleCases)
    func scale(_ c: ScaleCase) {
        let actions = reconcile(Fixtures.workload(replicas: c.desired), c.replicas)
        #expect(actions.creates.count == c.creates)
        #expect(actions.deletes == c.deletes)
        for case .delete(_, let reason) in actions { #expect(reason == .scaleDown) }
    }

    @Test func replicasOfOtherWorkloadsAndProjectsAreIgnored() {
        var other = Fixtures.replica("x", workload: "api", hash: v1)
        other.workload = "api"
        var elsewhere = Fixtures.replica("y", hash: v1)
        elsewhere.project = "other"
        let actions = reconcile(Fixtures.workload(replicas: 1), [other, elsewhere])
        #expect(actions.creates.count == 1)
        #expect(actions.deletes.isEmpty)
    }

    @Test func failedReplicaIsReplaced() {
        let replicas = [
            Fixtures.replica("a", hash: v1), Fixtures.replica("b", hash: v1),
            Fixtures.replica("c", hash: v1, phase: .failed, ready: false, exitCode: 137),
        ]
        let actions = reconcile(Fixtures.workload(replicas: 3), replicas)
        #expect(actions.compactMap(\.deleted).map(\.name) == ["c"])
        #expect(actions.compactMap(\.deleted).map(\.reason) == [.failed])
        #expect(actions.creates.count == 1)
        #expect(actions.eventReasons == ["ReplicaFailed", "ReplicasCreated"])
        let message = actions.compactMap { a -> String? in
            if case .event("ReplicaFailed", let m, .warning) = a { return m }
            return nil
        }
        #expect(message == ["replica c failed (exit code 137); replacing it"])
        #expect(actions.newStatus?.replicas == 2)
        #expect(actions.newStatus?.readyReplicas == 2)
    }

    @Test func succeededReplicaIsReplacedToo() {
        let replicas = [Fixtures.replica("a", hash: v1, phase: .succeeded, ready: false, exitCode: 0)]
        let actions = reconcile(Fixtures.workload(replicas: 1), replicas)
        #expect(actions.compactMap(\.deleted).map(\.reason) == [.succeeded])
        #expect(actions.creates.count == 1)
    }

    @Test func selfHealWithZeroSurgeWaitsForTheFailedReplicaToGo() {
        let strategy = RolloutStrategy(maxSurge: .int(0), maxUnavailable: .int(1))
        var sim = WorkloadSim(Fixtures.workload(replicas: 2, strategy: strategy))
        sim.settle()
        let victim = sim.alive.map(\.name).sorted()[0]
        sim.replicas[victim]?.phase = .failed
        sim.replicas[victim]?.ready = false
        let first = sim.reconcile()
        #expect(first.deletes == [victim])
        #expect(first.creates.isEmpty, "total would exceed replicas + maxSurge = 2")
        sim.finishTerminating(victim)
        #expect(sim.reconcile().creates.count == 1)
    }

    @Test func steadyStateWritesNothing() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 3))
        sim.settle()
        #expect(sim.reconcile().isEmpty)
        let status = sim.workload.status
        #expect(status?.replicas == 3)
        #expect(status?.readyReplicas == 3)
        #expect(status?.availableReplicas == 3)
        #expect(status?.updatedReplicas == 3)
        #expect(status?.conditions?.map(\.type) == ["Available", "Progressing"])
        #expect(status?.conditions?.map(\.reason) == ["MinimumReplicasAvailable", "NewRevisionAvailable"])
    }

    @Test func scaleUpThenDownThroughTheSimulation() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 2))
        sim.settle()
        sim.workload.spec.replicas = 5
        sim.settle()
        #expect(sim.alive.count == 5)
        sim.workload.spec.replicas = 1
        sim.settle()
        #expect(sim.replicas.count == 1)
        #expect(sim.workload.status?.replicas == 1)
    }

    @Test func longWorkloadNamesStillMakeValidReplicaNames() {
        let long = String(repeating: "a", count: 50) + "-" + String(repeating: "b", count: 12)
        var workload = Fixtures.workload(replicas: 1)
        workload.metadata.name = long
        let name = reconcile(workload, []).creates[0]
        #expect(name.utf8.count <= 63)
        #expect(Names.validateDNSLabel(name) == nil)
        #expect(
            WorkloadLabels.replicaName(workload: "a-" + String(repeating: "-", count: 60), hash: "h", suffix: "s")
                == "a-h-s")
    }

    @Test func createdReplicaCarriesTheLabels() {
        let workload = Fixtures.workload()
        let replica = WorkloadLabels.replica(named: "web-x-y", template: workload.spec.template, hash: v1, of: workload)
        #expect(replica.metadata.project == "demo")
        #expect(replica.metadata.labels == ["app": "web", "kumo.dev/workload": "web", "kumo.dev/template-hash": v1])
        #expect(replica.spec == workload.spec.template.spec)
        #expect(ReplicaSnapshot(replica).templateHash == v1)
        #expect(ReplicaSnapshot(replica).workload == "web")
    }

    @Test func suffixCollisionsAreSkipped() {
        struct Repeating: NameSuffixSource {
            var values: [String]
            mutating func next() -> String { values.removeFirst() }
        }
        var suffixes = Repeating(values: ["aaaaa", "aaaaa", "bbbbb"])
        let existing = Fixtures.replica("web-\(v1)-aaaaa", hash: v1)
        let actions = WorkloadReconciler(
            workload: Fixtures.workload(replicas: 2), replicas: [existing], now: Fixtures.t0
        ).reconcile(suffixes: &suffixes)
        #expect(actions.creates == ["web-\(v1)-bbbbb"])
    }
}
