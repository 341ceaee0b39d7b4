import KumoModel
import KumoScheduler

/// Scheduler throughput through the real `KumoScheduler` code: a simulated cluster of `nodes` nodes (varied
/// sizes, 6 zones, some SSD/GPU nodes, a few tainted, cordoned or not Ready) and `replicas` replicas in about
/// 1,000 workloads (varied requests, some with node selectors, tolerations and anti-affinity, two that fit
/// nowhere), placed one by one from one snapshot that each placement's bind updates. Single-threaded.
///
/// Figures: `placements_per_s`, `placement_p50_us`, `placement_p99_us` (schedule + bind), `unschedulable`
/// (count) beside `unschedulable_expected` (the oversized workloads' replicas), `snapshot_build_ms`. The scenario
/// fails when any other replica was not placed: it times placements, never rejections.
enum ScheduleScenario {
    static func run(nodes: Int, replicas: Int, seed: UInt64) -> [String: Double] {
        var rng = SplitMix64(seed: seed)
        let cluster = SimulatedCluster(nodes: nodes, replicas: replicas, rng: &rng)
        let clock = ContinuousClock()

        let buildStart = clock.now
        var snapshot = SchedulingSnapshot(nodes: cluster.nodes, replicas: [], topologyKeys: ["zone"])
        let buildElapsed = clock.now - buildStart

        let scheduler = Scheduler(options: SchedulerOptions(seed: seed))
        var latencies: [Double] = []
        latencies.reserveCapacity(cluster.requests.count)
        var unschedulable = 0
        var evaluatedTotal = 0
        let start = clock.now
        for request in cluster.requests {
            let begin = clock.now
            let decision = scheduler.schedule(request, in: snapshot)
            evaluatedTotal += decision.explanation.nodesEvaluated
            switch decision {
            case .placed(let node, _): snapshot.bind(request, to: node)
            case .unschedulable: unschedulable += 1
            }
            latencies.append(microseconds(clock.now - begin))
        }
        let elapsed = clock.now - start

        latencies.sort()
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        let seconds = microseconds(elapsed) / 1_000_000
        return [
            "placements_per_s": seconds > 0 ? Double(cluster.requests.count) / seconds : 0,
            "placement_p50_us": percentile(0.50),
            "placement_p99_us": percentile(0.99),
            "unschedulable": Double(unschedulable),
            "unschedulable_expected": Double(cluster.fitNowhere),
            "nodes_evaluated_mean": Double(evaluatedTotal) / Double(max(1, cluster.requests.count)),
            "snapshot_build_ms": microseconds(buildElapsed) / 1000,
        ]
    }

    static func microseconds(_ d: Duration) -> Double {
        d.secondsValue * 1_000_000
    }

    /// A fake cluster for scale simulation only: `Node` objects and the placement requests of its replicas.
    struct SimulatedCluster {
        var nodes: [Node] = []
        var requests: [PlacementRequest] = []
        /// Replicas made to fit nowhere (two oversized workloads): the only ones that may be unschedulable.
        var fitNowhere = 0

        static let zones = ["zone-a", "zone-b", "zone-c", "zone-d", "zone-e", "zone-f"]
        /// (cores, GiB, share in percent)
        static let sizes: [(Int64, Int64, Int)] = [(4, 16, 20), (8, 32, 30), (16, 64, 30), (32, 128, 15), (64, 256, 5)]
        static let cpus: [Int64] = [100, 250, 500, 1000, 2000]
        static let memories: [Int64] = [128, 256, 512, 1024, 2048, 4096]

        init(nodes nodeCount: Int, replicas replicaCount: Int, rng: inout SplitMix64) {
            nodes.reserveCapacity(nodeCount)
            for i in 0..<nodeCount {
                nodes.append(Self.node(i, rng: &rng))
            }
            requests.reserveCapacity(replicaCount)
            let workloads = max(1, min(1000, replicaCount))
            var remaining = replicaCount
            for w in 0..<workloads {
                let left = workloads - w
                let average = remaining / left
                let count = left == 1 ? remaining : min(remaining, max(1, average / 2 + rng.next(below: average + 1)))
                remaining -= count
                appendWorkload(w, replicas: count, rng: &rng)
            }
        }

        static func node(_ i: Int, rng: inout SplitMix64) -> Node {
            var roll = rng.next(below: 100)
            var size = sizes[0]
            for s in sizes {
                if roll < s.2 {
                    size = s
                    break
                }
                roll -= s.2
            }
            var labels = ["zone": zones[rng.next(below: zones.count)], "kumo.dev/hostname": "sim-node-\(i)"]
            var taints: [Taint] = []
            let kind = rng.next(below: 100)
            if kind < 10 { labels["disk"] = "ssd" }
            if kind >= 10 && kind < 13 {
                labels["gpu"] = "true"
                taints.append(Taint(key: "dedicated", value: "gpu", effect: .noSchedule))
            }
            if kind == 13 || kind == 14 { taints.append(Taint(key: "maintenance", effect: .preferNoSchedule)) }
            let cordoned = kind == 15 || kind == 16
            let ready = !(kind == 17 || kind == 18)
            let resources = Resources(cpu: .cores(size.0), memory: .gibibytes(size.1), pods: 110)
            return Node(
                metadata: ObjectMeta(name: "sim-node-\(i)", labels: labels),
                // a node without a pod subnet takes no replicas (SchedulingNode): every simulated node has one
                spec: NodeSpec(podCIDR: "10.\(i >> 8 & 0xff).\(i & 0xff).0/24", unschedulable: cordoned, taints: taints),
                status: NodeStatus(
                    capacity: resources, allocatable: resources,
                    conditions: [Condition(type: "Ready", status: ready ? .true : .false)]))
        }

        mutating func appendWorkload(_ w: Int, replicas count: Int, rng: inout SplitMix64) {
            let project = "sim-project-\(w % 50)"
            let name = "sim-workload-\(w)"
            var spec = ReplicaSpec(image: "busybox:latest")
            let oversized = w == 17 || w == 601
            if oversized { fitNowhere += count }
            spec.resources = Resources(
                cpu: .millicores(oversized ? 128_000 : Self.cpus[rng.next(below: Self.cpus.count)]),
                memory: .mebibytes(Self.memories[rng.next(below: Self.memories.count)]))
            let kind = rng.next(below: 100)
            if kind < 10 { spec.nodeSelector = ["disk": "ssd"] }
            if kind >= 10 && kind < 13 {
                spec.nodeSelector = ["gpu": "true"]
                spec.tolerations = [Toleration(key: "dedicated", operator: .equal, value: "gpu", effect: .noSchedule)]
            }
            let antiAffinity: PlacementRequest.AntiAffinity =
                kind >= 20 && kind < 40 ? .preferred : (kind >= 40 && kind < 45 ? .required : .none)
            let group = "\(project)/\(name)"
            for r in 0..<count {
                let replica = Replica(metadata: ObjectMeta(name: "\(name)-\(r)", project: project), spec: spec)
                requests.append(PlacementRequest(replica: replica, group: group, antiAffinity: antiAffinity))
            }
        }
    }
}
