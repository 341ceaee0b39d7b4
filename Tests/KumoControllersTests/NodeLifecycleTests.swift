import KumoControllers
import KumoModel
import Testing

@Suite("NodeLifecycle")
struct NodeLifecycleTests {
    let t0 = Fixtures.t0

    func readyCondition(_ status: ConditionStatus, _ reason: String, since: Timestamp) -> Condition {
        Condition(type: "Ready", status: status, reason: reason, lastTransitionTime: since.rfc3339)
    }

    func replicas(_ node: String, _ names: String...) -> [ObjectReference] {
        names.map { ObjectReference(kind: .replica, name: $0, project: "demo") }
    }

    /// A cluster of nodes `n1…nN`, all Ready since t0, each with two replicas.
    struct Cluster {
        var nodes: [NodeSnapshot]
        var leases: [String: NodeLease]
        var bound: [String: [ObjectReference]]

        init(_ count: Int, renewedAt: Timestamp) {
            nodes = (1...count).map {
                NodeSnapshot(
                    name: "n\($0)",
                    ready: Condition(
                        type: "Ready", status: .true, reason: "LeaseRenewed",
                        lastTransitionTime: Fixtures.t0.rfc3339))
            }
            leases = Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, NodeLease(renewTime: renewedAt)) })
            bound = Dictionary(
                uniqueKeysWithValues: nodes.map {
                    (
                        $0.name,
                        [
                            ObjectReference(kind: .replica, name: "\($0.name)-b", project: "demo"),
                            ObjectReference(kind: .replica, name: "\($0.name)-a", project: "demo"),
                        ]
                    )
                })
        }

        /// Applies the condition writes, as the shell would.
        mutating func apply(_ actions: [NodeLifecycleAction]) {
            for case .setCondition(let node, let condition) in actions {
                if let i = nodes.firstIndex(where: { $0.name == node }) { nodes[i].ready = condition }
            }
            for case .evict(let replica, let node, _) in actions { bound[node]?.removeAll { $0 == replica } }
        }

        func lifecycle(now: Timestamp, options: NodeLifecycle.Options = .init(), since: Timestamp? = nil)
            -> NodeLifecycle
        {
            NodeLifecycle(
                nodes: nodes, leases: leases, boundReplicas: bound, now: now, monitoringSince: since, options: options)
        }
    }

    @Test func freshLeaseMakesANewNodeReady() {
        let node = NodeSnapshot(name: "n1", createdAt: t0)
        let result = NodeLifecycle(
            nodes: [node], leases: ["n1": NodeLease(renewTime: t0 + .seconds(1))], boundReplicas: [:],
            now: t0 + .seconds(2)
        ).reconcile()
        #expect(result.mode == .normal)
        #expect(result.notReady.isEmpty)
        #expect(
            result.actions == [
                .setCondition(
                    node: "n1",
                    Condition(
                        type: "Ready", status: .true, reason: "LeaseRenewed",
                        message: "the agent renews its lease (grace 6s)", lastTransitionTime: (t0 + .seconds(2)).rfc3339
                    )),
                .event(
                    regarding: ObjectReference(kind: .node, name: "n1"), reason: "NodeReady",
                    message: "the agent renews its lease (grace 6s)", type: .normal),
            ])
        #expect(result.requeueAt == t0 + .seconds(7), "when the lease would expire")
    }

    @Test func unchangedConditionIsNotRewritten() {
        let cluster = Cluster(3, renewedAt: t0 + .seconds(10))
        let result = cluster.lifecycle(now: t0 + .seconds(12)).reconcile()
        #expect(result.actions.isEmpty, "heartbeats must not turn into Node writes")
        #expect(result.requeueAt == t0 + .seconds(16))
    }

    @Test func expiredLeaseMakesTheNodeNotReadyThenEvictsAfterTheDelay() {
        var cluster = Cluster(3, renewedAt: t0 + .seconds(10))
        cluster.leases["n2"] = NodeLease(renewTime: t0)  // n2 stopped renewing at t0
        let options = NodeLifecycle.Options(evictionDelay: .seconds(5))

        // t0+6s: expired. Ready → Unknown, no eviction yet (delay until t0+11s).
        var result = cluster.lifecycle(now: t0 + .seconds(6), options: options).reconcile()
        let notReady = Condition(
            type: "Ready", status: .unknown, reason: "LeaseExpired",
            message: "no heartbeat since \(t0.rfc3339) (grace 6s)", lastTransitionTime: (t0 + .seconds(6)).rfc3339)
        #expect(
            result.actions == [
                .setCondition(node: "n2", notReady),
                .event(
                    regarding: ObjectReference(kind: .node, name: "n2"), reason: "NodeNotReady",
                    message: notReady.message!, type: .warning),
            ])
        #expect(result.notReady == ["n2"])
        #expect(result.mode == .normal)
        #expect(result.requeueAt == t0 + .seconds(11))
        cluster.apply(result.actions)

        // Just before the delay: nothing.
        result = cluster.lifecycle(now: t0 + .seconds(10.999), options: options).reconcile()
        #expect(result.actions.isEmpty)

        // At the delay: both replicas of n2 evicted, sorted, each with an event.
        result = cluster.lifecycle(now: t0 + .seconds(11), options: options).reconcile()
        #expect(
            result.actions.filter { if case .evict = $0 { true } else { false } } == [
                .evict(
                    replica: ObjectReference(kind: .replica, name: "n2-a", project: "demo"), node: "n2",
                    reason: "LeaseExpired"),
                .evict(
                    replica: ObjectReference(kind: .replica, name: "n2-b", project: "demo"), node: "n2",
                    reason: "LeaseExpired"),
            ])
        #expect(result.actions.count == 2, "the two evictions; their Evicted events are the loop's")
        #expect(result.heldEvictions == 0)
        cluster.apply(result.actions)

        // Evicted replicas are gone from the node: nothing more to do.
        #expect(cluster.lifecycle(now: t0 + .seconds(12), options: options).reconcile().actions.isEmpty)
    }

    @Test func defaultEvictionIsImmediateOnceNotReady() {
        var cluster = Cluster(3, renewedAt: t0 + .seconds(10))
        cluster.leases["n3"] = NodeLease(renewTime: t0)
        let result = cluster.lifecycle(now: t0 + .seconds(6)).reconcile()
        #expect(result.actions.filter { if case .evict = $0 { true } else { false } }.count == 2)
    }

    struct DisruptionCase: Sendable, CustomTestStringConvertible {
        var nodes: Int
        var expired: Int
        var mode: DisruptionMode
        var evicted: Int
        var held: Int
        var testDescription: String { "\(expired) of \(nodes) expired → \(mode)" }
    }

    @Test(arguments: [
        DisruptionCase(nodes: 3, expired: 0, mode: .normal, evicted: 0, held: 0),
        DisruptionCase(nodes: 3, expired: 1, mode: .normal, evicted: 2, held: 0),
        DisruptionCase(nodes: 3, expired: 2, mode: .partialDisruption, evicted: 0, held: 4),
        DisruptionCase(nodes: 3, expired: 3, mode: .fullDisruption, evicted: 0, held: 6),
        DisruptionCase(nodes: 2, expired: 1, mode: .normal, evicted: 2, held: 0),  // 50% ≤ 55%
        DisruptionCase(nodes: 1, expired: 1, mode: .fullDisruption, evicted: 0, held: 2),
        DisruptionCase(nodes: 20, expired: 11, mode: .normal, evicted: 22, held: 0),  // 55%: not more than
        DisruptionCase(nodes: 20, expired: 12, mode: .partialDisruption, evicted: 0, held: 24),
    ])
    func mostNodesExpiredMeansNoEvictions(_ c: DisruptionCase) {
        var cluster = Cluster(c.nodes, renewedAt: t0 + .seconds(60))
        for i in 1...max(1, c.expired) where c.expired > 0 { cluster.leases["n\(i)"] = NodeLease(renewTime: t0) }
        let result = cluster.lifecycle(now: t0 + .seconds(61)).reconcile()
        #expect(result.mode == c.mode)
        #expect(result.notReady.count == c.expired)
        #expect(result.actions.filter { if case .evict = $0 { true } else { false } }.count == c.evicted)
        #expect(result.heldEvictions == c.held)
        let setConditions = result.actions.filter { if case .setCondition = $0 { true } else { false } }
        #expect(setConditions.count == c.expired, "conditions are written in every mode")
        let held = result.actions.compactMap { a -> String? in
            if case .event(let regarding, "EvictionsHeld", _, .warning) = a { return regarding.name }
            return nil
        }
        #expect(held.count == (c.mode == .normal ? 0 : c.expired))
    }

    @Test func heldEventsOnlyWhenTheModeChanges() {
        var cluster = Cluster(3, renewedAt: t0)
        let first = cluster.lifecycle(now: t0 + .seconds(7)).reconcile()
        #expect(first.mode == .fullDisruption)
        #expect(
            first.actions.contains {
                if case .event(_, "EvictionsHeld", let m, _) = $0 {
                    m.hasPrefix("3 of 3 nodes not ready (FullDisruption)")
                } else {
                    false
                }
            })
        cluster.apply(first.actions)
        let second = NodeLifecycle(
            nodes: cluster.nodes, leases: cluster.leases, boundReplicas: cluster.bound, now: t0 + .seconds(8),
            previousMode: first.mode
        ).reconcile()
        #expect(second.actions.isEmpty)
        #expect(second.heldEvictions == 6)

        // Two agents come back: n3 alone is not ready, normal mode, its replicas go.
        cluster.leases["n1"] = NodeLease(renewTime: t0 + .seconds(9))
        cluster.leases["n2"] = NodeLease(renewTime: t0 + .seconds(9))
        let third = NodeLifecycle(
            nodes: cluster.nodes, leases: cluster.leases, boundReplicas: cluster.bound, now: t0 + .seconds(10),
            previousMode: second.mode
        ).reconcile()
        #expect(third.mode == .normal)
        #expect(
            third.actions.compactMap {
                if case .event(let r, let reason, _, _) = $0 { "\(reason) \(r.name)" } else { nil }
            } == [
                "NodeReady n1", "NodeReady n2", "EvictionsResumed n3",
            ])
        #expect(third.actions.filter { if case .evict = $0 { true } else { false } }.count == 2)
    }

    @Test func nodeComesBack() {
        var cluster = Cluster(3, renewedAt: t0 + .seconds(30))
        cluster.leases["n1"] = NodeLease(renewTime: t0)
        var result = cluster.lifecycle(now: t0 + .seconds(30)).reconcile()
        cluster.apply(result.actions)
        #expect(cluster.nodes[0].ready?.status == .unknown)
        #expect(cluster.bound["n1"]?.isEmpty == true, "evicted")

        // The agent renews again (the others kept renewing).
        for name in ["n1", "n2", "n3"] { cluster.leases[name] = NodeLease(renewTime: t0 + .seconds(40)) }
        result = cluster.lifecycle(now: t0 + .seconds(41)).reconcile()
        #expect(
            result.actions == [
                .setCondition(
                    node: "n1",
                    Condition(
                        type: "Ready", status: .true, reason: "LeaseRenewed",
                        message: "the agent renews its lease (grace 6s)",
                        lastTransitionTime: (t0 + .seconds(41)).rfc3339)),
                .event(
                    regarding: ObjectReference(kind: .node, name: "n1"), reason: "NodeReady",
                    message: "the agent renews its lease (grace 6s)", type: .normal),
            ])
        cluster.apply(result.actions)
        #expect(cluster.nodes.allSatisfy { $0.isReady })
    }

    @Test func nodeWithoutLease() {
        let fresh = NodeSnapshot(name: "n1", createdAt: t0)
        let other = NodeSnapshot(name: "n2", ready: readyCondition(.true, "LeaseRenewed", since: t0))
        let bound = ["n1": replicas("n1", "r")]
        func run(_ n1: NodeSnapshot, at now: Timestamp) -> NodeLifecycle.Result {
            NodeLifecycle(
                nodes: [n1, other], leases: ["n2": NodeLease(renewTime: now)], boundReplicas: bound, now: now
            ).reconcile()
        }
        var result = run(fresh, at: t0 + .seconds(1))
        #expect(result.actions.count == 1, "Unknown, no event (it was never Ready), no eviction yet")
        guard case .setCondition(_, let c) = result.actions.first else {
            Issue.record("expected a condition")
            return
        }
        #expect(c.status == .unknown)
        #expect(c.reason == "LeaseMissing")
        #expect(result.requeueAt == t0 + .seconds(6), "creation + grace")
        // Never renewed within a grace period of its creation: its replicas go.
        var seen = fresh
        seen.ready = c
        result = run(seen, at: t0 + .seconds(6))
        #expect(
            result.actions == [
                .evict(
                    replica: ObjectReference(kind: .replica, name: "r", project: "demo"), node: "n1",
                    reason: "LeaseMissing")
            ])
    }

    @Test func longerLeaseDurationWins() {
        let cluster = Cluster(1, renewedAt: t0)
        var leases = cluster.leases
        leases["n1"] = NodeLease(renewTime: t0, duration: .seconds(20))
        let result = NodeLifecycle(
            nodes: cluster.nodes, leases: leases, boundReplicas: [:], now: t0 + .seconds(10)
        ).reconcile()
        #expect(result.actions.isEmpty)
        #expect(result.requeueAt == t0 + .seconds(20))
    }

    @Test func restartedControllerGivesAgentsOneGracePeriod() {
        var cluster = Cluster(3, renewedAt: t0 + .seconds(100))
        cluster.leases["n1"] = NodeLease(renewTime: t0)  // old, but we only started watching at t0+98
        let since = t0 + .seconds(98)
        var result = cluster.lifecycle(now: t0 + .seconds(100), since: since).reconcile()
        #expect(result.notReady == ["n1"], "the condition tells the truth")
        #expect(!result.actions.contains { if case .evict = $0 { true } else { false } })
        #expect(result.requeueAt == t0 + .seconds(104))
        cluster.apply(result.actions)
        result = cluster.lifecycle(now: t0 + .seconds(104), since: since).reconcile()
        #expect(result.actions.contains { if case .evict = $0 { true } else { false } })
    }

    @Test func leaseRecordFromTheServer() {
        let record: JSONValue = [
            "node": "n1", "holder": "node/n1", "renewTime": "2026-11-26T16:12:46.391Z", "durationSeconds": 6,
            "revision": "12",
        ]
        let lease = NodeLease(record)
        #expect(lease?.renewTime == Timestamp(rfc3339: "2026-11-26T16:12:46.391Z"))
        #expect(lease?.duration == .seconds(6))
        #expect(NodeLease(["node": "n1"]) == nil)
    }

    @Test func snapshotsFromObjects() {
        var node = Node(metadata: ObjectMeta(name: "n1"), spec: NodeSpec())
        node.metadata.createdAt = "2026-01-01T00:00:00Z"
        node.status = NodeStatus(conditions: [
            Condition(type: "MemoryPressure", status: .false), Condition(type: "Ready", status: .true),
        ])
        let snapshot = NodeSnapshot(node)
        #expect(snapshot.isReady)
        #expect(snapshot.createdAt == t0)
        let replicas = [
            Replica(metadata: ObjectMeta(name: "a", project: "p"), spec: ReplicaSpec(image: "x", nodeName: "n1")),
            Replica(metadata: ObjectMeta(name: "b", project: "p"), spec: ReplicaSpec(image: "x")),
        ]
        #expect(NodeLifecycle.bound(replicas) == ["n1": [ObjectReference(kind: .replica, name: "a", project: "p")]])
    }
}
