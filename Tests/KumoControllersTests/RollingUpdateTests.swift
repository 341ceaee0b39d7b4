import KumoControllers
import KumoModel
import Testing

@Suite("WorkloadReconciler: rolling update")
struct RollingUpdateTests {
    /// Checks the rollout invariants on the simulated world.
    static func checkInvariants(_ sim: WorkloadSim, surge: Int, unavailable: Int, _ context: String) {
        let n = sim.workload.spec.replicas
        #expect(sim.replicas.count <= n + surge, "total (terminating included) above replicas + maxSurge \(context)")
        #expect(sim.readyCount >= n - unavailable, "ready below replicas - maxUnavailable \(context)")
    }

    /// Rolls `sim` to `image`, moving the world one event per reconcile: the oldest terminating replica goes,
    /// else the oldest starting one becomes ready. Invariants are checked after every reconcile and every event.
    static func rollOut(_ sim: inout WorkloadSim, to image: String, surge: Int, unavailable: Int, maxSteps: Int = 100) {
        sim.workload.spec.template = Fixtures.template(image)
        for step in 0..<maxSteps {
            sim.reconcile()
            checkInvariants(sim, surge: surge, unavailable: unavailable, "after reconcile \(step)")
            if let gone = sim.terminating.first {
                sim.finishTerminating(gone)
            } else if let next = sim.starting().first {
                sim.becomeReady(next)
            } else if sim.workload.status?.currentRevision == sim.hash {
                return
            }
            checkInvariants(sim, surge: surge, unavailable: unavailable, "after world event \(step)")
        }
        Issue.record("rollout did not finish in \(maxSteps) steps")
    }

    @Test func defaultsThreeReplicasStepByStep() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 3))
        sim.settle()
        sim.trace = []
        #expect(RolloutStrategy().resolve(replicas: 3) == (1, 0))
        Self.rollOut(&sim, to: "web:2", surge: 1, unavailable: 0)

        // Golden trace (see WorkloadSim): surge 1, unavailable 0, so 4 replicas at most and 3 always ready.
        #expect(
            sim.trace == [
                "+v2#1 !RolloutStarted !ReplicasCreated",  // surge room for one
                "  ~v2#1 ready",
                "-v1#1(RollingUpdate) !ReplicasDeleted",  // 4 ready, 3 required: one old may go
                "  ~v1#1 gone",
                "+v2#2 !ReplicasCreated",  // surge room again
                "  ~v2#2 ready",
                "-v1#2(RollingUpdate) !ReplicasDeleted",
                "  ~v1#2 gone",
                "+v2#3 !ReplicasCreated",
                "  ~v2#3 ready",
                "-v1#3(RollingUpdate) !ReplicasDeleted",
                "  ~v1#3 gone",
                "!RolloutComplete",
            ])
        let status = sim.workload.status
        #expect(status?.currentRevision == sim.hash)
        #expect(status?.updateRevision == sim.hash)
        #expect(status?.updatedReplicas == 3)
        #expect(status?.readyReplicas == 3)
        #expect(status?.revisions?.map(\.hash) == [Fixtures.hash("web:1"), Fixtures.hash("web:2")])
        #expect(sim.alive.allSatisfy { $0.templateHash == sim.hash && $0.isReady })
        #expect(sim.events.contains { $0.reason == "RolloutComplete" })
    }

    @Test func maxUnavailableOneMaxSurgeZero() {
        let strategy = RolloutStrategy(maxSurge: .int(0), maxUnavailable: .int(1))
        var sim = WorkloadSim(Fixtures.workload(replicas: 3, strategy: strategy))
        sim.settle()
        sim.trace = []
        Self.rollOut(&sim, to: "web:2", surge: 0, unavailable: 1)
        // Surge 0, unavailable 1: never more than 3 replicas, never fewer than 2 ready.
        #expect(
            sim.trace == [
                "-v1#1(RollingUpdate) !RolloutStarted !ReplicasDeleted",  // 3 ready, 2 required: one may go
                "  ~v1#1 gone",
                "+v2#1 !ReplicasCreated",  // room for one new
                "  ~v2#1 ready",
                "-v1#2(RollingUpdate) !ReplicasDeleted",
                "  ~v1#2 gone",
                "+v2#2 !ReplicasCreated",
                "  ~v2#2 ready",
                "-v1#3(RollingUpdate) !ReplicasDeleted",
                "  ~v1#3 gone",
                "+v2#3 !ReplicasCreated",
                "  ~v2#3 ready",
                "!RolloutComplete",
            ])
        #expect(sim.workload.status?.currentRevision == Fixtures.hash("web:2"))
    }

    /// Table: sizes × strategies, the world moving in a seeded pseudo-random order (one event per reconcile,
    /// sometimes none). The invariants hold at every step and every rollout completes.
    @Test(
        arguments: [1, 2, 3, 5, 10],
        [
            RolloutStrategy(),
            RolloutStrategy(maxSurge: .int(0), maxUnavailable: .int(1)),
            RolloutStrategy(maxSurge: .int(2), maxUnavailable: .int(0)),
            RolloutStrategy(maxSurge: .percent(50), maxUnavailable: .percent(50)),
            RolloutStrategy(maxSurge: .int(1), maxUnavailable: .int(3)),
        ])
    func invariantsHoldInAnyOrder(replicas n: Int, strategy: RolloutStrategy) {
        let (surge, unavailable) = strategy.resolve(replicas: n)
        var sim = WorkloadSim(Fixtures.workload(replicas: n, strategy: strategy))
        sim.settle()
        sim.workload.spec.template = Fixtures.template("web:2")
        var random = NameSuffixes(seed: UInt64(n * 31 + surge * 7 + unavailable))
        var done = false
        for step in 0..<400 {
            sim.reconcile()
            Self.checkInvariants(sim, surge: surge, unavailable: unavailable, "n=\(n) step \(step)")
            if sim.workload.status?.currentRevision == sim.hash {
                done = true
                break
            }
            let choices = sim.terminating + sim.starting()
            let pick = Int(random.nextRandomForTests() % UInt64(choices.count + 1))
            guard pick < choices.count else { continue }  // nothing happens this time
            if sim.replicas[choices[pick]]?.isTerminating == true {
                sim.finishTerminating(choices[pick])
            } else {
                sim.becomeReady(choices[pick])
            }
            Self.checkInvariants(sim, surge: surge, unavailable: unavailable, "n=\(n) event \(step)")
        }
        #expect(done, "rollout of \(n) with \(strategy) did not complete")
        #expect(sim.alive.count == n)
        #expect(sim.alive.allSatisfy { $0.templateHash == sim.hash })
    }

    @Test func unreadyOldReplicasAreReplacedFirst() {
        // 3 old, one of them crash-looping (running, not ready); defaults: surge 1, unavailable 0.
        let v1 = Fixtures.hash("web:1")
        var workload = Fixtures.workload(replicas: 3, image: "web:2")
        workload.status = WorkloadStatus(
            currentRevision: v1, updateRevision: v1,
            revisions: [WorkloadRevision(hash: v1, template: Fixtures.template("web:1"))])
        let old = [
            Fixtures.replica("a", hash: v1), Fixtures.replica("b", hash: v1),
            Fixtures.replica("c", hash: v1, ready: false),
        ]
        var suffixes = NameSuffixes(seed: 1)
        let first = WorkloadReconciler(workload: workload, replicas: old, now: Fixtures.t0)
            .reconcile(suffixes: &suffixes)
        #expect(first.creates.count == 1)
        #expect(first.deletes.isEmpty, "ready 2 < required 3: nothing to spare, not even the unready one")

        let fresh = Fixtures.replica(first.creates[0], hash: Fixtures.hash("web:2"))
        let second = WorkloadReconciler(workload: workload, replicas: old + [fresh], now: Fixtures.t0)
            .reconcile(suffixes: &suffixes)
        #expect(second.deletes == ["c"], "the unready old replica goes before any ready one")
    }

    @Test func oldestRevisionGoesFirst() {
        let (v1, v2) = (Fixtures.hash("web:1"), Fixtures.hash("web:2"))
        var workload = Fixtures.workload(
            replicas: 2, image: "web:3", strategy: RolloutStrategy(maxSurge: .int(0), maxUnavailable: .int(1)))
        workload.status = WorkloadStatus(
            currentRevision: v1, updateRevision: v2,
            revisions: [
                WorkloadRevision(hash: v1, template: Fixtures.template("web:1")),
                WorkloadRevision(hash: v2, template: Fixtures.template("web:2")),
            ])
        let replicas = [
            Fixtures.replica("a-v2", hash: v2, createdAt: Fixtures.t0), Fixtures.replica("z-v1", hash: v1),
        ]
        var suffixes = NameSuffixes(seed: 1)
        let actions = WorkloadReconciler(workload: workload, replicas: replicas, now: Fixtures.t0)
            .reconcile(suffixes: &suffixes)
        #expect(actions.deletes == ["z-v1"])
    }

    @Test func templateChangeMidRolloutRestartsTheEpisode() {
        var sim = WorkloadSim(Fixtures.workload(replicas: 3))
        sim.settle()
        sim.workload.spec.template = Fixtures.template("web:2")
        sim.reconcile()
        sim.advance(.seconds(60))
        sim.workload.spec.template = Fixtures.template("web:3")
        sim.reconcile()
        let progressing = sim.workload.status?.conditions?.first { $0.type == "Progressing" }
        #expect(progressing?.reason == "RollingOut")
        #expect(progressing?.lastTransitionTime == sim.now.rfc3339)
        #expect(sim.workload.status?.currentRevision == Fixtures.hash("web:1"))
        #expect(sim.workload.status?.revisions?.count == 3)
        sim.settle()
        #expect(sim.alive.allSatisfy { $0.templateHash == Fixtures.hash("web:3") })
    }
}

extension NameSuffixes {
    mutating func nextRandomForTests() -> UInt64 {
        // Reuse the generator's stream: the suffix characters are as good as random numbers here.
        var value: UInt64 = 0
        for byte in next().utf8 { value = value &* 31 &+ UInt64(byte) }
        return value
    }
}
