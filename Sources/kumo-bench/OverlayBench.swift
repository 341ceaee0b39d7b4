import Foundation
import KumoAPI
import KumoAgent
import KumoModel
import KumoSystem
import KumoTestSupport
import KumoTestbed
import Logging

/// `overlay`: (1) 100 and 1,000 simulated peers — diff + batch apply of their entries on one real host (a
/// network namespace with a real `kumo.1`); (2) node joins seen by real agents on netns hosts: from the joining
/// node's overlay data being written to every peer having programmed it.
enum OverlayBench {
    static func run(joins: Int) async throws -> BenchResult {
        var result = BenchResult(scenario: "overlay")
        for peers in [100, 1000] {
            let ms = try await simulated(peers: peers, rounds: 5)
            result.add("apply_\(peers)_peers_p50_ms", ms.percentile(50))
            result.add("apply_\(peers)_peers_max_ms", ms.percentile(100))
        }
        let join = try await realJoins(count: joins)
        result.add("join_p50_ms", join.percentile(50))
        result.add("join_p99_ms", join.percentile(99))
        result.target("apply_1000_peers_max_ms", 100, higherIsBetter: false)
        result.target("join_p99_ms", 500, higherIsBetter: false)
        result.notes.append("apply_N_peers: SimulatedPeers (N fake nodes, 3N entries) → read kernel + plan + ip -batch + bridge -batch on one real netns host, from empty")
        result.notes.append("join: a 4th real agent joins 3 (netns hosts); from its status.overlay write (history time) to all 3 peers showing its FDB entry; \(joins) joins")
        return result
    }

    /// N fake peers' entries applied to a real `kumo.1` in a throwaway namespace, from empty, `rounds` times.
    static func simulated(peers: Int, rounds: Int) async throws -> Samples {
        let ns = "kob\(getpid() % 100_000)"
        let sh = { (argv: [String]) throws in _ = try LocalCloud.sh(argv) }
        try sh(["ip", "netns", "add", ns])
        defer { _ = try? LocalCloud.sh(["ip", "netns", "del", ns], check: false) }
        try sh(["ip", "-n", ns, "link", "add", "u0", "type", "veth", "peer", "name", "u1"])
        try sh(["ip", "-n", ns, "addr", "add", "192.0.2.241/28", "dev", "u0"])
        try sh(["ip", "-n", ns, "link", "set", "u0", "up"])
        try sh(["ip", "-n", ns, "link", "set", "u1", "up"])
        var logger = Logger(label: "bench.overlay")
        logger.logLevel = .warning
        let kernel = try OverlayKernel(logger: logger)
        let cluster = IPv4Network("10.0.0.0/8")!
        let local = IPv4Network("10.0.0.0/24")!
        try await kernel.ensureDevice(
            mac: OverlayPeer.vtepMAC(forNode: "bench-local"), localIP: IPv4Address("192.0.2.241")!, underlayDevice: "u0",
            mtu: 1450, address: local.first, hostNetns: ns)
        let simulated = (1...peers).map { i in
            OverlayPeer(
                node: "sim-\(i)", podCIDR: cluster.subnet(i, prefixLength: 24)!,
                publicIP: IPv4Address(0xC000_0200 &+ UInt32(16 + i % 200)), vtepMAC: OverlayPeer.vtepMAC(forNode: "sim-\(i)"))
        }
        let desired = OverlayDiff.desired(peers: simulated, localNode: "bench-local")
        var samples = Samples()
        for _ in 0..<rounds {
            let empty = OverlayDiff.desired(peers: [], localNode: "bench-local")
            let clear = OverlayDiff.plan(
                desired: empty, actual: try await kernel.read(hostNetns: ns), device: kernel.device, clusterCIDR: cluster,
                localSubnet: local)
            try await kernel.apply(clear, hostNetns: ns)
            let start = ContinuousClock.now
            let plan = OverlayDiff.plan(
                desired: desired, actual: try await kernel.read(hostNetns: ns), device: kernel.device, clusterCIDR: cluster,
                localSubnet: local)
            try await kernel.apply(plan, hostNetns: ns)
            samples.add(milliseconds(ContinuousClock.now - start))
            guard try await kernel.read(hostNetns: ns).count >= desired.count else {
                throw KumoError(.internal, "after apply the kernel holds fewer than \(desired.count) entries")
            }
        }
        return samples
    }

    /// A 4th agent joins 3 running ones, `count` times (it is deleted and its agent reset between joins).
    static func realJoins(count: Int) async throws -> Samples {
        let cloud = LocalCloud(agents: 4)
        var samples = Samples()
        return try await tearingDown(cloud) {
            try await cloud.start(agents: 3)
            for _ in 0..<count {
                try cloud.startAgent(4)
                var mac = ""
                var written: Timestamp?
                try await eventually("node 4 publishes its overlay data", timeout: .seconds(30)) {
                    let node = try await cloud.admin.get(.node, cloud.nodeName(4))
                    mac = node["status"]?["overlay"]?["vtepMAC"]?.stringValue ?? ""
                    return !mac.isEmpty
                }
                let history = try await cloud.admin.send(.GET, "/api/v1/nodes/\(cloud.nodeName(4))/history").decode(HistoryList.self)
                // the newest such write: a re-joining node keeps the history of its earlier lives
                written = history.items.last { entry in entry.patch.contains { $0.path.hasPrefix("/status/overlay") } }
                    .flatMap { Timestamp(rfc3339: $0.time) }
                var programmed: [Int: Timestamp] = [:]
                let deadline = ContinuousClock.now + .seconds(20)
                while programmed.count < 3 && ContinuousClock.now < deadline {
                    for i in 1...3 where programmed[i] == nil {
                        if try cloud.inHost(i, ["bridge", "fdb", "show", "dev", "kumo.1"]).out.contains(mac) { programmed[i] = Timestamp.now() }
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
                guard programmed.count == 3, let written, let last = programmed.values.max() else {
                    throw KumoError(.internal, "node 4 was not programmed on every peer")
                }
                samples.add(Double(last.millisecondsSinceEpoch - written.millisecondsSinceEpoch))
                cloud.stopAgent(4)
                _ = try? KumoBinary.run([
                    "agent", "reset", "--name", cloud.nodeName(4), "--data-dir", cloud.agentDir(4), "--runc-root", cloud.agentDir(4) + "/runc",
                ])
                try await cloud.admin.send(.DELETE, "/api/v1/nodes/\(cloud.nodeName(4))")
                try? FileManager.default.removeItem(atPath: cloud.agentDir(4))
                try await eventually("node 4's entries gone", timeout: .seconds(20)) {
                    try (1...3).allSatisfy { try !cloud.inHost($0, ["bridge", "fdb", "show", "dev", "kumo.1"]).out.contains(mac) }
                }
            }
            return samples
        }
    }
}
