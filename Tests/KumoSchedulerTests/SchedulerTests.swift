import Foundation
import KumoModel
import Testing

@testable import KumoScheduler

@Suite("Scheduler")
struct SchedulerTests {
    static func cluster(nodes: Int) -> SchedulingSnapshot {
        var list: [SchedulingNode] = []
        for i in 0..<nodes {
            let cpu = Int64(2000 + 1000 * (i % 3))
            list.append(Fixtures.node("n\(i)", cpu: cpu, zone: "z\(i % 4)", ready: i % 17 != 5))
        }
        return SchedulingSnapshot(nodes: list)
    }

    static func requests(_ count: Int) -> [PlacementRequest] {
        (0..<count).map { Fixtures.request("r\($0)", group: "demo/w\($0 % 7)", cpu: Int64(100 * ($0 % 5 + 1))) }
    }

    static func run(seed: UInt64, nodes: Int = 60, replicas: Int = 150) -> [PlacementDecision] {
        var snapshot = cluster(nodes: nodes)
        let scheduler = Scheduler(options: SchedulerOptions(sampleSize: .fixed(10), seed: seed))
        return requests(replicas).map { request in
            let decision = scheduler.schedule(request, in: snapshot)
            if let node = decision.node { snapshot.bind(request, to: node) }
            return decision
        }
    }

    @Test func sameSeedSameDecisions() {
        let a = Self.run(seed: 7)
        let b = Self.run(seed: 7)
        #expect(a == b)
        #expect(a.allSatisfy { $0.node != nil })
        let c = Self.run(seed: 8)
        #expect(a.map(\.node) != c.map(\.node))
    }

    @Test func theSeedIsRecordedAndDependsOnTheReplica() {
        let scheduler = Scheduler(options: SchedulerOptions(seed: 7))
        let snapshot = Self.cluster(nodes: 3)
        let e = scheduler.schedule(Fixtures.request("a"), in: snapshot).explanation
        #expect(e.seed == scheduler.placementSeed(for: Fixtures.request("a")))
        #expect(e.seed != scheduler.placementSeed(for: Fixtures.request("b")))
        #expect(e.seed != Scheduler(options: SchedulerOptions(seed: 8)).placementSeed(for: Fixtures.request("a")))
    }

    @Test func samplingIsExplained() {
        let snapshot = SchedulingSnapshot(nodes: (0..<1000).map { Fixtures.node("n\($0)") })
        let sampled = Scheduler(options: SchedulerOptions(sampleSize: .fixed(50))).schedule(
            Fixtures.request("web-0"), in: snapshot
        ).explanation
        #expect(sampled.sampled)
        #expect(sampled.sampleLimit == 50)
        #expect(sampled.nodesEvaluated == 50)
        #expect(sampled.nodesFeasible == 50)
        #expect(sampled.summary.contains("; sampled 50/1000 nodes, 50 available"))

        let full = Scheduler(options: SchedulerOptions(sampleSize: .all)).schedule(
            Fixtures.request("web-0"), in: snapshot
        ).explanation
        #expect(!full.sampled)
        #expect(full.nodesEvaluated == 1000)
        #expect(full.summary.contains("; 1000/1000 nodes available"))
    }

    @Test func anUnschedulableRequestVisitsEveryNodeEvenWhenSampling() {
        for n in 1...40 {
            let snapshot = SchedulingSnapshot(nodes: (0..<n).map { Fixtures.node("n\($0)", cpu: 100) })
            let e = Scheduler(options: SchedulerOptions(sampleSize: .fixed(1), seed: UInt64(n))).schedule(
                Fixtures.request("big", cpu: 200), in: snapshot
            ).explanation
            #expect(e.nodesEvaluated == n)
            #expect(!e.sampled)
            #expect(e.summary == "0/\(n) nodes available: \(n) insufficient cpu")
        }
    }

    @Test func adaptiveSampleSizeFollowsKubeScheduler() {
        let adaptive = SchedulerOptions.SampleSize.adaptive
        #expect(adaptive.limit(forNodes: 50) == 50)
        #expect(adaptive.limit(forNodes: 100) == 100)
        #expect(adaptive.limit(forNodes: 1000) == 420)
        #expect(adaptive.limit(forNodes: 5000) == 500)
        #expect(adaptive.limit(forNodes: 100_000) == 5000)
        #expect(SchedulerOptions.SampleSize.fixed(0).limit(forNodes: 10) == 1)
        #expect(SchedulerOptions.SampleSize.all.limit(forNodes: 10) == 10)
    }

    @Test func bindUpdatesFreeResourcesForTheNextPlacement() {
        var snapshot = SchedulingSnapshot(nodes: [Fixtures.node("n1", cpu: 1000, memoryMi: 1024)])
        let scheduler = Scheduler()
        let first = Fixtures.request("web-0", cpu: 600, memoryMi: 256)
        #expect(scheduler.schedule(first, in: snapshot).node == "n1")
        let bound = snapshot.bind(first, to: "n1")
        #expect(bound)
        let state = snapshot.state(ofNode: 0)
        #expect(state.cpuRequested == 600)
        #expect(state.memoryRequested == 256 << 20)
        #expect(state.podsRequested == 1)
        #expect(state.cpuFree == 400)
        #expect(snapshot.replicas(ofGroup: "demo/web") == 1)

        let second = Fixtures.request("web-1", cpu: 600, memoryMi: 256)
        #expect(scheduler.schedule(second, in: snapshot).explanation.summary
            == "0/1 nodes available: 1 insufficient cpu")

        let unbound = snapshot.unbind(first, from: "n1")
        #expect(unbound)
        #expect(snapshot.state(ofNode: 0).cpuRequested == 0)
        #expect(snapshot.replicas(ofGroup: "demo/web", onNode: 0) == 0)
        #expect(scheduler.schedule(second, in: snapshot).node == "n1")
        let unknown = snapshot.bind(first, to: "nowhere")
        #expect(!unknown)
    }

    @Test func snapshotFromKumoModelObjects() {
        func node(_ name: String, ready: ConditionStatus?, cordoned: Bool = false) -> Node {
            Node(
                metadata: ObjectMeta(name: name, labels: ["zone": "z1"]),
                spec: NodeSpec(unschedulable: cordoned),
                status: NodeStatus(
                    capacity: Resources(cpu: .cores(4), memory: .gibibytes(8), pods: 10),
                    allocatable: Resources(cpu: .cores(2), memory: .gibibytes(4), pods: 5),
                    conditions: ready.map { [Condition(type: "Ready", status: $0)] }))
        }
        func replica(_ name: String, on node: String?, phase: ReplicaPhase? = nil) -> Replica {
            Replica(
                metadata: ObjectMeta(name: name, project: "demo", labels: ["workload": "web"]),
                spec: ReplicaSpec(
                    image: "busybox", resources: Resources(cpu: .millicores(500), memory: .mebibytes(512)),
                    nodeName: node),
                status: phase.map { ReplicaStatus(phase: $0) })
        }
        let snapshot = SchedulingSnapshot(
            nodes: [node("a", ready: .true), node("b", ready: .unknown), node("c", ready: nil)],
            replicas: [
                replica("w1", on: "a"), replica("w2", on: "a"), replica("done", on: "a", phase: .succeeded),
                replica("pending", on: nil), replica("lost", on: "gone"),
            ],
            group: { r in r.metadata.labels?["workload"].map { "\(r.metadata.project ?? "")/\($0)" } })
        let a = snapshot.state(ofNode: snapshot.index(ofNode: "a")!)
        #expect(a.cpuAllocatable == 2000)
        #expect(a.podsAllocatable == 5)
        #expect(a.cpuRequested == 1000)
        #expect(a.memoryRequested == 1024 << 20)
        #expect(a.ready)
        #expect(!snapshot.state(ofNode: 1).ready)
        #expect(!snapshot.state(ofNode: 2).ready)
        #expect(snapshot.replicas(ofGroup: "demo/web", onNode: 0) == 2)
        #expect(snapshot.replicas(ofGroup: "demo/web", topologyKey: "zone", value: "z1") == 2)

        let request = PlacementRequest(replica: replica("w3", on: nil), group: "demo/web")
        #expect(request.cpuMillicores == 500)
        #expect(request.identity == "demo/w3")
    }

    @Test func explanationRoundTripsThroughJSONWithItsSummary() throws {
        var snapshot = SchedulingSnapshot(nodes: [Fixtures.node("n1", zone: "a"), Fixtures.node("n2", ready: false)])
        snapshot.bind(Fixtures.request("web-0"), to: "n1")
        let e = Scheduler(options: SchedulerOptions(seed: UInt64.max)).schedule(
            Fixtures.request("web-1"), in: snapshot
        ).explanation
        let data = try JSONEncoder().encode(e)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["summary"] as? String == e.summary)
        #expect((json["seed"] as? String)?.count == 18)
        #expect(json["notes"] == nil)
        let decoded = try JSONDecoder().decode(Explanation.self, from: data)
        #expect(decoded == e)
        #expect(decoded.summary == e.summary)
        #expect(e.topScores.first?.components.map(\.ranker).contains("GroupNodeSpread") == true)
    }

    @Test func splitMix64MatchesTheReferenceSequence() {
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(SplitMix64.stableHash("") == 0xCBF2_9CE4_8422_2325)
        #expect(SplitMix64.stableHash("a") == 0xAF63_DC4C_8601_EC8C)
        var bounded = SplitMix64(seed: 42)
        for _ in 0..<1000 { #expect((0..<7).contains(bounded.next(below: 7))) }
    }

    @Test func strideVisitsEveryNodeOnce() {
        for n in 1...60 {
            var rng = SplitMix64(seed: UInt64(n))
            let step = Scheduler.coprimeStep(for: n, using: &rng)
            var seen = Set<Int>()
            var position = rng.next(below: n)
            for _ in 0..<n {
                seen.insert(position)
                position = (position + step) % n
            }
            #expect(seen.count == n)
        }
    }
}
