import KumoModel
import KumoScheduler
import Testing

@testable import KumoControllers

/// The scheduler's incremental view as a value: accounting moves with each change, the snapshot is rebuilt only
/// when a node changes in a way the scheduler reads.
@Suite struct SchedulingViewTests {
    static func node(_ name: String, cpu: Int64 = 2000, ready: Bool = true, cordoned: Bool = false) -> SchedulingNode {
        SchedulingNode(name: name, cpuMillicores: cpu, memoryBytes: 8 << 30, ready: ready, unschedulable: cordoned)
    }

    static func held(_ node: String, cpu: Int64 = 500, group: String? = "p/web") -> SchedulingView.Held {
        .init(node: node, request: PlacementRequest(name: "x", project: "p", group: group, cpu: CPUQuantity(millicores: cpu), memory: MemoryQuantity(bytes: 1 << 20)))
    }

    static func cpuRequested(_ s: SchedulingSnapshot, _ node: String) -> Int64? {
        s.index(ofNode: node).map { s.state(ofNode: $0).cpuRequested }
    }

    @Test func accountingFollowsBindsMovesAndDeletes() {
        var v = SchedulingView(topologyKeys: ["zone"])
        v.setNode("n1", Self.node("n1"))
        v.setNode("n2", Self.node("n2"))
        v.account("p/a", Self.held("n1"))
        var s = v.snapshot()
        #expect(Self.cpuRequested(s, "n1") == 500 && v.builds == 1)
        // once built, changes move the accounting in place: no rebuild
        v.account("p/b", Self.held("n1"))
        v.account("p/a", Self.held("n2"))  // moved (evicted and placed again under the same name)
        s = v.snapshot()
        #expect(Self.cpuRequested(s, "n1") == 500 && Self.cpuRequested(s, "n2") == 500)
        #expect(s.replicas(ofGroup: "p/web") == 2)
        v.account("p/b", nil)  // deleted, or finished
        v.account("p/b", nil)  // twice: no double unbind
        s = v.snapshot()
        #expect(Self.cpuRequested(s, "n1") == 0 && s.replicas(ofGroup: "p/web") == 1 && v.builds == 1)
        #expect(v.held.count == 1)
    }

    @Test func onlyNodeChangesTheSchedulerReadsRebuild() {
        var v = SchedulingView(topologyKeys: ["zone"])
        v.setNode("n1", Self.node("n1"))
        _ = v.snapshot()
        let same = v.setNode("n1", Self.node("n1"))
        #expect(!same, "a heartbeat that changes nothing the scheduler reads")
        _ = v.snapshot()
        #expect(v.builds == 1)
        let cordoned = v.setNode("n1", Self.node("n1", cordoned: true))
        #expect(cordoned)
        v.account("p/a", Self.held("n1"))
        let s = v.snapshot()
        #expect(v.builds == 2 && s.state(ofNode: 0).unschedulable && Self.cpuRequested(s, "n1") == 500, "rebuilt with what is held")
        v.setNode("n1", nil)
        v.setNode("n3", Self.node("n3"))
        let after = v.snapshot()
        #expect(after.index(ofNode: "n1") == nil && after.names == ["n3"], "a deleted node is gone; what it held counts nowhere")
    }

    @Test func finishedReplicasHoldNothing() {
        var replica = Replica(metadata: ObjectMeta(name: "a", project: "p"), spec: ReplicaSpec(image: "busybox:latest", nodeName: "n1"))
        #expect(SchedulingView.held(by: replica, group: nil)?.node == "n1")
        for phase in [ReplicaPhase.succeeded, .failed] {
            replica.status = ReplicaStatus(phase: phase)
            #expect(SchedulingView.held(by: replica, group: nil) == nil, "\(phase) frees its room")
        }
        replica.status = ReplicaStatus(phase: .terminating)
        #expect(SchedulingView.held(by: replica, group: nil) != nil, "a terminating replica still holds its room")
        replica.spec.nodeName = nil
        #expect(SchedulingView.held(by: replica, group: nil) == nil)
    }

    @Test func reservationsCountUntilReleasedWhateverTheCacheSays() {
        var v = SchedulingView(topologyKeys: ["zone"])
        v.setNode("n1", Self.node("n1"))
        _ = v.snapshot()
        v.reserve("p/a", Self.held("n1"))
        #expect(Self.cpuRequested(v.snapshot(), "n1") == 500)
        v.account("p/a", nil)  // a change of the still-unbound cached object meanwhile: the reservation stays
        #expect(Self.cpuRequested(v.snapshot(), "n1") == 500)
        v.account("p/a", Self.held("n1"))  // the binding arrives by watch before the writer releases: counted twice, never less
        #expect(Self.cpuRequested(v.snapshot(), "n1") == 1000)
        v.release("p/a")
        #expect(Self.cpuRequested(v.snapshot(), "n1") == 500)
        v.release("p/a")  // twice: no double unbind
        v.reserve("p/b", Self.held("n1"))
        v.setNode("n1", Self.node("n1", cpu: 4000))  // a rebuild keeps the reservation
        #expect(Self.cpuRequested(v.snapshot(), "n1") == 1000 && v.builds == 2)
        v.release("p/b")
        #expect(Self.cpuRequested(v.snapshot(), "n1") == 500)
    }
}
