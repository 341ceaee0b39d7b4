import KumoModel
import Testing

@testable import KumoScheduler

@Suite("Feasibility")
struct FeasibilityTests {
    let scheduler = Scheduler(options: SchedulerOptions(seed: 1))

    @Test func notReadyCordonedAndTaintedNodesAreRejectedAndCounted() {
        let snapshot = SchedulingSnapshot(nodes: [
            Fixtures.node("down", ready: false),
            Fixtures.node("cordoned", cordoned: true),
            Fixtures.node("tainted", taints: [Taint(key: "dedicated", value: "db", effect: .noSchedule)]),
            Fixtures.node("evicting", taints: [Taint(key: "broken", effect: .noExecute)]),
            Fixtures.node("good"),
        ])
        let decision = scheduler.schedule(Fixtures.request("web-0"), in: snapshot)
        #expect(decision.node == "good")
        let e = decision.explanation
        #expect(e.nodesTotal == 5)
        #expect(e.nodesEvaluated == 5)
        #expect(e.nodesFeasible == 1)
        #expect(!e.sampled)
        #expect(e.rejectedCount(by: "NodeReady") == 1)
        #expect(e.rejectedCount(by: "Schedulable") == 1)
        #expect(e.rejectedCount(by: "Taints") == 2)
        #expect(e.summary.hasPrefix("placed on good (score "))
        #expect(e.summary.hasSuffix("; 1/5 nodes available: 2 had untolerated taint, 1 cordoned, 1 not ready"))
    }

    @Test func insufficientMemoryIsUnschedulableWithKubernetesStyleSummary() {
        let snapshot = SchedulingSnapshot(nodes: [
            Fixtures.node("a", memoryMi: 1024),
            Fixtures.node("b", memoryMi: 1024),
            Fixtures.node("c", memoryMi: 65536, ready: false),
        ])
        let decision = scheduler.schedule(Fixtures.request("big", memoryMi: 2048), in: snapshot)
        guard case .unschedulable(let e) = decision else {
            Issue.record("expected unschedulable, got \(decision)")
            return
        }
        #expect(e.summary == "0/3 nodes available: 2 insufficient memory, 1 not ready")
        #expect(e.rejectedCount(by: "Resources") == 2)
        #expect(e.rejectedCount(reason: "insufficient memory") == 2)
        #expect(e.node == nil)
        #expect(e.topScores.isEmpty)
    }

    @Test func insufficientCPUAndTooManyReplicasAreNamed() {
        var snapshot = SchedulingSnapshot(nodes: [
            Fixtures.node("small", cpu: 1000),
            Fixtures.node("full", cpu: 64000, pods: 1),
        ])
        snapshot.bind(Fixtures.request("other", group: nil, cpu: 0), to: "full")
        let e = scheduler.schedule(Fixtures.request("big", cpu: 2000), in: snapshot).explanation
        #expect(e.summary == "0/2 nodes available: 1 insufficient cpu, 1 too many replicas")
    }

    @Test func requestsDefaultTo100mAnd64Mi() {
        let request = PlacementRequest(name: "x")
        #expect(request.cpuMillicores == 100)
        #expect(request.memoryBytes == 64 << 20)
        let snapshot = SchedulingSnapshot(nodes: [Fixtures.node("tiny", cpu: 99)])
        #expect(scheduler.schedule(request, in: snapshot).explanation.rejectedCount(reason: "insufficient cpu") == 1)
    }

    @Test func nodeSelectorPicksMatchingNodesAndNamesTheRest() {
        let snapshot = SchedulingSnapshot(nodes: [
            Fixtures.node("hdd-1", labels: ["disk": "hdd"]),
            Fixtures.node("ssd-1", labels: ["disk": "ssd", "arch": "amd64"]),
            Fixtures.node("plain"),
            Fixtures.node("ssd-arm", labels: ["disk": "ssd", "arch": "arm64"]),
        ])
        for i in 0..<10 {
            let request = Fixtures.request("db-\(i)", nodeSelector: ["disk": "ssd", "arch": "amd64"])
            #expect(scheduler.schedule(request, in: snapshot).node == "ssd-1")
        }
        let e = scheduler.schedule(Fixtures.request("gpu", nodeSelector: ["gpu": "true"]), in: snapshot).explanation
        #expect(e.summary == "0/4 nodes available: 4 didn't match node selector")
        let partial = scheduler.schedule(
            Fixtures.request("arm", nodeSelector: ["disk": "ssd", "arch": "riscv"]), in: snapshot
        ).explanation
        #expect(partial.rejectedCount(by: "NodeSelector") == 4)
    }

    @Test func nodeSelectorRejectionsCountNodesOutsideTheRarestLabel() {
        let snapshot = SchedulingSnapshot(nodes: [
            Fixtures.node("ssd-down", labels: ["disk": "ssd"], ready: false),
            Fixtures.node("ssd-full", cpu: 50, labels: ["disk": "ssd"]),
            Fixtures.node("hdd"),
        ])
        let e = scheduler.schedule(Fixtures.request("db", nodeSelector: ["disk": "ssd"]), in: snapshot).explanation
        #expect(e.summary == "0/3 nodes available: 1 didn't match node selector, 1 insufficient cpu, 1 not ready")
        #expect(e.nodesEvaluated == 2)
    }

    @Test func tolerationsLetAReplicaOntoATaintedNode() {
        let taint = Taint(key: "dedicated", value: "gpu", effect: .noSchedule)
        let snapshot = SchedulingSnapshot(nodes: [Fixtures.node("gpu-1", taints: [taint])])
        let plain = scheduler.schedule(Fixtures.request("web"), in: snapshot)
        #expect(plain.node == nil)
        #expect(plain.explanation.summary == "0/1 nodes available: 1 had untolerated taint")

        let equal = Toleration(key: "dedicated", operator: .equal, value: "gpu", effect: .noSchedule)
        #expect(scheduler.schedule(Fixtures.request("train", tolerations: [equal]), in: snapshot).node == "gpu-1")
        let exists = Toleration(operator: .exists)
        #expect(scheduler.schedule(Fixtures.request("agent", tolerations: [exists]), in: snapshot).node == "gpu-1")
        let wrongValue = Toleration(key: "dedicated", operator: .equal, value: "db")
        #expect(scheduler.schedule(Fixtures.request("db", tolerations: [wrongValue]), in: snapshot).node == nil)
    }

    @Test func preferNoScheduleIsOnlyAPenalty() {
        let snapshot = SchedulingSnapshot(nodes: [
            Fixtures.node("draining", taints: [Taint(key: "maintenance", effect: .preferNoSchedule)]),
            Fixtures.node("fine"),
        ])
        for seed in 0..<20 {
            let s = Scheduler(options: SchedulerOptions(seed: UInt64(seed)))
            let decision = s.schedule(Fixtures.request("web-\(seed)"), in: snapshot)
            #expect(decision.node == "fine")
            #expect(decision.explanation.nodesFeasible == 2)
            let penalized = decision.explanation.topScores.first { $0.node == "draining" }
            // One untolerated PreferNoSchedule taint: 1 / (1 + 1).
            #expect(penalized?.components.first { $0.ranker == "PreferNoSchedule" }?.score == 0.5)
            #expect(decision.explanation.topScores[0].components.first { $0.ranker == "PreferNoSchedule" }?.score == 1)
        }
        let alone = SchedulingSnapshot(nodes: [
            Fixtures.node("draining", taints: [Taint(key: "maintenance", effect: .preferNoSchedule)])
        ])
        #expect(scheduler.schedule(Fixtures.request("web"), in: alone).node == "draining")
    }

    @Test func noNodesAtAll() {
        let decision = scheduler.schedule(Fixtures.request("web"), in: SchedulingSnapshot(nodes: []))
        #expect(decision.node == nil)
        #expect(decision.explanation.summary == "0/0 nodes available: no nodes")
    }
}
