import KumoModel
import Testing

@testable import KumoScheduler

@Suite("Ranking")
struct RankingTests {
    @Test(arguments: 0..<10 as Range<UInt64>)
    func spreadPutsThreeReplicasOnThreeNodes(seed: UInt64) {
        var snapshot = SchedulingSnapshot(nodes: (1...3).map { Fixtures.node("n\($0)") })
        let placed = Fixtures.placeAll(
            Fixtures.replicas(3), in: &snapshot, with: Scheduler(options: SchedulerOptions(seed: seed)))
        #expect(Set(placed.compactMap { $0 }) == ["n1", "n2", "n3"])
    }

    @Test(arguments: 0..<10 as Range<UInt64>)
    func spreadCrossesZones(seed: UInt64) {
        let nodes = ["a", "b", "c"].flatMap { (zone: String) -> [SchedulingNode] in
            (1...2).map { Fixtures.node("\(zone)\($0)", zone: zone) }
        }
        var snapshot = SchedulingSnapshot(nodes: nodes)
        let scheduler = Scheduler(options: SchedulerOptions(seed: seed))
        let first = Fixtures.placeAll(Fixtures.replicas(3), in: &snapshot, with: scheduler).compactMap { $0 }
        #expect(Set(first.map { $0.prefix(1) }) == ["a", "b", "c"])
        let more = (3..<6).map { Fixtures.request("web-\($0)") }
        _ = Fixtures.placeAll(more, in: &snapshot, with: scheduler)
        for zone in ["a", "b", "c"] {
            #expect(snapshot.replicas(ofGroup: "demo/web", topologyKey: "zone", value: zone) == 2)
        }
        for node in nodes {
            #expect(snapshot.replicas(ofGroup: "demo/web", onNode: snapshot.index(ofNode: node.name)!) == 1)
        }
    }

    @Test func spreadPrefersTheLeastAllocatedNode() {
        var snapshot = SchedulingSnapshot(nodes: [Fixtures.node("busy"), Fixtures.node("idle")])
        snapshot.bind(Fixtures.request("other", group: "demo/db", cpu: 3000), to: "busy")
        let decision = Scheduler().schedule(Fixtures.request("web-0"), in: snapshot)
        #expect(decision.node == "idle")
    }

    @Test(arguments: 0..<10 as Range<UInt64>)
    func binpackFillsOneNodeFirst(seed: UInt64) {
        var snapshot = SchedulingSnapshot(nodes: (1...3).map { Fixtures.node("n\($0)", cpu: 4000) })
        let scheduler = Scheduler(options: SchedulerOptions(strategy: .binpack, seed: seed))
        let placed = Fixtures.placeAll(Fixtures.replicas(5, cpu: 1000), in: &snapshot, with: scheduler)
        let first = placed[0]!
        #expect(placed[0..<4].allSatisfy { $0 == first })
        #expect(placed[4] != nil && placed[4] != first)
    }

    @Test(arguments: [SchedulerOptions.Strategy.spread, .binpack])
    func softAntiAffinitySpreadsButSharesWhenItMust(strategy: SchedulerOptions.Strategy) {
        var snapshot = SchedulingSnapshot(nodes: [Fixtures.node("n1"), Fixtures.node("n2", cpu: 16000)])
        // The big node wins resource ranking under spread; binpack would stack everything on one node.
        snapshot.bind(Fixtures.request("filler", group: "demo/other", cpu: 3000), to: "n1")
        let scheduler = Scheduler(options: SchedulerOptions(strategy: strategy, seed: 3))
        let placed = Fixtures.placeAll(
            Fixtures.replicas(3, antiAffinity: .preferred), in: &snapshot, with: scheduler)
        #expect(placed.allSatisfy { $0 != nil })
        #expect(Set(placed[0..<2].compactMap { $0 }) == ["n1", "n2"])
    }

    @Test func hardAntiAffinityLeavesTheThirdReplicaPending() {
        var snapshot = SchedulingSnapshot(nodes: [Fixtures.node("n1"), Fixtures.node("n2")])
        let scheduler = Scheduler(options: SchedulerOptions(strategy: .binpack, seed: 3))
        let requests = Fixtures.replicas(3, antiAffinity: .required)
        let placed = Fixtures.placeAll(Array(requests[0..<2]), in: &snapshot, with: scheduler)
        #expect(Set(placed.compactMap { $0 }) == ["n1", "n2"])
        let third = scheduler.schedule(requests[2], in: snapshot)
        #expect(third.node == nil)
        #expect(third.explanation.summary == "0/2 nodes available: 2 didn't satisfy anti-affinity")
        #expect(third.explanation.rejectedCount(by: "HardAntiAffinity") == 2)
        // Another group is not affected.
        #expect(scheduler.schedule(Fixtures.request("db-0", group: "demo/db"), in: snapshot).node != nil)
    }

    @Test func withoutAntiAffinityBinpackKeepsAGroupTogether() {
        var snapshot = SchedulingSnapshot(nodes: [Fixtures.node("n1"), Fixtures.node("n2")])
        let scheduler = Scheduler(options: SchedulerOptions(strategy: .binpack, seed: 3))
        let placed = Fixtures.placeAll(Fixtures.replicas(3), in: &snapshot, with: scheduler)
        #expect(Set(placed.compactMap { $0 }).count == 1)
    }

    @Test func topScoresAreBestFirstWithComponents() {
        let snapshot = SchedulingSnapshot(nodes: [
            Fixtures.node("n1", cpu: 1000), Fixtures.node("n2", cpu: 2000), Fixtures.node("n3", cpu: 4000),
            Fixtures.node("n4", cpu: 8000),
        ])
        let e = Scheduler().schedule(Fixtures.request("web-0", cpu: 500), in: snapshot).explanation
        #expect(e.node == "n4")
        #expect(e.topScores.map(\.node) == ["n4", "n3", "n2"])
        #expect(e.topScores.map(\.score) == e.topScores.map(\.score).sorted(by: >))
        // No replica of the group yet: group spread does not apply, so the components are resources + taints.
        #expect(e.topScores[0].components.map(\.ranker) == ["LeastAllocated", "PreferNoSchedule"])
        let leastAllocated = e.topScores[0].components[0]
        #expect(abs(leastAllocated.score - (7500.0 / 8000 + (8192.0 - 64) / 8192) / 2) < 0.0001)
    }

    @Test func anUnindexedTopologyKeyIsNoted() {
        var snapshot = SchedulingSnapshot(nodes: [Fixtures.node("n1", labels: ["rack": "r1"])])
        snapshot.bind(Fixtures.request("web-0"), to: "n1")
        let scheduler = Scheduler(options: SchedulerOptions(topologyKey: "rack"))
        let e = scheduler.schedule(Fixtures.request("web-1"), in: snapshot).explanation
        #expect(e.notes == ["topology key \"rack\" is not indexed by the snapshot; no topology spread"])
        let indexed = SchedulingSnapshot(nodes: [Fixtures.node("n1", labels: ["rack": "r1"])], topologyKeys: ["rack"])
        #expect(scheduler.schedule(Fixtures.request("web-1"), in: indexed).explanation.notes.isEmpty)
    }
}
