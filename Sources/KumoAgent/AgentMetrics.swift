import Foundation
import KumoModel
import Synchronization

/// The agent's Prometheus metrics (text exposition, rendered on scrape): replicas by phase, container starts and
/// their start latency, exits, image pulls and cache hits, heartbeats.
public final class AgentMetrics: Sendable {
    /// Start latency buckets in seconds (image pull + network + runc run).
    static let buckets: [Double] = [0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Counters: Sendable {
        var starts = 0
        var exits = 0
        var startBuckets = [Int](repeating: 0, count: AgentMetrics.buckets.count)
        var startSum = 0.0
        var startCount = 0
        var startLatencies: [Double] = []
    }
    private let c = Mutex(Counters())

    public init() {}

    func containerStarted(latency: Duration) {
        let seconds = Double(latency.milliseconds) / 1000
        c.withLock { c in
            c.starts += 1
            c.startSum += seconds
            c.startCount += 1
            for (i, b) in Self.buckets.enumerated() where seconds <= b { c.startBuckets[i] += 1 }
            c.startLatencies.append(seconds)
            if c.startLatencies.count > 1000 { c.startLatencies.removeFirst(c.startLatencies.count - 1000) }
        }
    }

    func containerExited() { c.withLock { $0.exits += 1 } }

    /// Recent start latencies (seconds), for the state dump.
    var recentStartLatencies: [Double] { c.withLock { $0.startLatencies } }

    func render(phases: [String: Int], images: (pulls: Int, hits: Int, cached: Int), heartbeats: (ok: Int, failed: Int))
        -> String
    {
        let s = c.withLock { $0 }
        var out = ""
        out += "# HELP kumo_agent_replicas Replicas on this node by phase.\n# TYPE kumo_agent_replicas gauge\n"
        for phase in ReplicaPhase.allCases {
            out += "kumo_agent_replicas{phase=\"\(phase.rawValue)\"} \(phases[phase.rawValue] ?? 0)\n"
        }
        out += "# HELP kumo_agent_container_starts_total Containers started.\n# TYPE kumo_agent_container_starts_total counter\n"
        out += "kumo_agent_container_starts_total \(s.starts)\n"
        out += "# HELP kumo_agent_container_exits_total Container exits observed.\n# TYPE kumo_agent_container_exits_total counter\n"
        out += "kumo_agent_container_exits_total \(s.exits)\n"
        out += "# HELP kumo_agent_container_start_seconds Image, network and runc start of a container.\n"
        out += "# TYPE kumo_agent_container_start_seconds histogram\n"
        for (i, b) in Self.buckets.enumerated() {
            out += "kumo_agent_container_start_seconds_bucket{le=\"\(b)\"} \(s.startBuckets[i])\n"
        }
        out += "kumo_agent_container_start_seconds_bucket{le=\"+Inf\"} \(s.startCount)\n"
        out += "kumo_agent_container_start_seconds_sum \(s.startSum)\n"
        out += "kumo_agent_container_start_seconds_count \(s.startCount)\n"
        out += "# HELP kumo_agent_image_pulls_total Images downloaded.\n# TYPE kumo_agent_image_pulls_total counter\n"
        out += "kumo_agent_image_pulls_total \(images.pulls)\n"
        out += "# HELP kumo_agent_image_cache_hits_total Image requests served from the node cache.\n# TYPE kumo_agent_image_cache_hits_total counter\n"
        out += "kumo_agent_image_cache_hits_total \(images.hits)\n"
        out += "# HELP kumo_agent_images_cached Unpacked images in the node cache.\n# TYPE kumo_agent_images_cached gauge\n"
        out += "kumo_agent_images_cached \(images.cached)\n"
        out += "# HELP kumo_agent_heartbeats_total Lease renewals by result.\n# TYPE kumo_agent_heartbeats_total counter\n"
        out += "kumo_agent_heartbeats_total{result=\"ok\"} \(heartbeats.ok)\n"
        out += "kumo_agent_heartbeats_total{result=\"failed\"} \(heartbeats.failed)\n"
        return out
    }
}
