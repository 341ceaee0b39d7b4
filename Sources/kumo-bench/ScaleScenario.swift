import Foundation
import KumoTestbed
import Logging

/// `scale`: a real `kumo server` (release, a child process), a SimulatedFleet of N fake agents over HTTPS in this
/// process, workloads totalling M replicas — the whole control plane end to end (API, store, watches, controllers,
/// heartbeats) on this 2-core machine, server and agents together.
enum ScaleScenario {
    static func run(nodes: Int, replicas: Int) async throws -> BenchResult {
        var r = BenchResult(scenario: "scale")
        let dir = tempDir("kumo-bench-scale")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // the anchor, in the same run: the raw store alone (16 writers, no HTTP), before the load starts
        var quiet = Logger(label: "kumo.bench.store")
        quiet.logLevel = .error
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let anchor = try await StoreScenario.run(directory: dir, seconds: 3, writers: 16, synchronousFull: false, logger: quiet)
        var options = ScaleRun.Options(nodes: nodes, replicas: replicas)
        options.timeout = .seconds(1200)
        let started = ContinuousClock.now
        let f = try await ScaleRun(options: options, dir: dir).run { line in
            FileHandle.standardError.write(Data("scale: \(line)\n".utf8))
        }
        r.add("nodes", Double(nodes))
        r.add("replicas", Double(replicas))
        r.add("registered_s", f.registeredSeconds)
        r.add("bound_per_s", f.boundPerSecond.rounded())
        r.add("store_anchor_writes_per_s", (anchor["writes_per_s"] ?? 0).rounded())
        r.add("running_per_s", f.runningPerSecond.rounded())
        r.add("heartbeat_p99_ms", f.heartbeatP99Ms)
        r.add("api_p99_ms", f.apiP99Ms)
        r.add("node_fanout_p99_ms", f.nodeFanoutP99Ms)
        r.add("evictions_before_loss", Double(f.evictionsBeforeLoss))
        r.add("node_loss_replaced_s", f.nodeLossReplacedSeconds)
        r.add("node_loss_replicas", Double(f.nodeLossReplicas))
        r.add("server_rss_mib", f.serverRSSMiB.rounded())
        r.add("server_peak_rss_mib", f.serverPeakRSSMiB.rounded())
        r.add("server_open_files", Double(f.serverOpenFiles))
        r.add("http2_watches", Double(f.fleet.http2Watches))
        r.add("store_mib", (f.storeMiB * 10).rounded() / 10)
        r.add("cold_start_s", f.coldStartSeconds)
        r.add("cold_started", f.coldStarted ? 1 : 0)
        r.add("total_s", (ContinuousClock.now - started).secondsValue.rounded())
        r.target("bound_per_s", 3000, higherIsBetter: true)
        r.target("heartbeat_p99_ms", 50, higherIsBetter: false)
        r.target("api_p99_ms", 50, higherIsBetter: false)
        r.target("node_fanout_p99_ms", 1000, higherIsBetter: false)
        r.target("node_loss_replaced_s", 10, higherIsBetter: false)
        r.target("server_rss_mib", 4096, higherIsBetter: false)
        r.target("cold_start_s", 30, higherIsBetter: false)
        r.target("cold_started", 1, higherIsBetter: true)
        if let failure = f.coldStartFailure { r.notes.append("FAILED cold start: \(failure)") }
        // the work was done: replicas were not bound and run twice because their nodes' heartbeats were late
        r.target("evictions_before_loss", 0, higherIsBetter: false)
        r.notes.append(
            "fake agents (SimulatedFleet): each joins with its own node token, renews its lease every 2 s, watches its "
                + "replicas, all nodes and all services over HTTPS, and reports its replicas Running; no containers")
        r.notes.append(
            "connections: each fake agent has its own HTTP client; over HTTP/2 its watches, heartbeats and reports share "
                + "one connection (server_open_files counts the server's descriptors with all agents connected)")
        r.notes.append("anchor: Kubernetes' published limit is 5,000 nodes and 150,000 pods per cluster")
        r.notes.append(
            "anchor, same run: store_anchor_writes_per_s is the raw SQLite store (16 writers, no HTTP) measured just before; "
                + "each binding is one store transaction")
        r.notes.append(
            "node loss: from the agent stopping to its replicas replaced and reported Running elsewhere (lease 6 s, "
                + "--node-grace-seconds 6, so detection alone takes ~6 s)")
        r.notes.append(
            "fleet: \(f.fleet.heartbeats) heartbeats (\(f.fleet.heartbeatFailures) failed), \(f.fleet.reportedRunning) Running reports "
                + "(\(f.fleet.reportFailures) failed), \(f.fleet.rewatches) watches reopened, \(f.apiWrites) API writes")
        return r
    }
}
