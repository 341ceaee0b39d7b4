import Foundation
import KumoModel

/// What the agent shows of itself: `/metrics` and `kumo state agent/<node>`.
extension NodeAgent {
    func renderMetrics() async -> String {
        let s = started.withLock { $0 }
        let phases = s?.supervisor.phases() ?? [:]
        let hb = s?.heartbeat.state()
        var img = (0, 0, 0)
        if let images = s?.images {
            let stats = await images.statistics
            img = (stats.pulls, stats.cacheHits, await images.state()["images"]?.arrayValue?.count ?? 0)
        }
        if let dnsmasq = s?.dnsmasq { metrics.dnsmasqObserved(await dnsmasq.metricsSnapshot()) }
        let base = metrics.render(
            phases: phases, images: img,
            heartbeats: (hb?["renewals"]?.intValue ?? 0, hb?["failures"]?.intValue ?? 0))
        return base + (await s?.loadBalancer.metricsText() ?? "")
    }

    /// `kumo state agent/<node>`: runners and their states, images cached, runc root, heartbeat.
    func state() async -> JSONValue {
        let s = started.withLock { $0 }
        return [
            "node": .string(config.nodeName), "version": .string(AgentConfiguration.version),
            "startedAt": .string(startedAt.rfc3339), "server": .string(config.server),
            "subnet": s.map { .string($0.subnet.description) } ?? .null,
            "waitingFor": registrationWait.withLock { $0 }.map { .string($0) } ?? .null,
            "agentURL": s.map { .string($0.agentURL) } ?? .null,
            "runcRoot": .string(config.runcRoot), "cgroupParent": .string(config.cgroupParent),
            "dataDir": .string(config.dataDir), "bridge": .string(config.bridge),
            "heartbeat": s?.heartbeat.state() ?? .null,
            "replicas": s?.supervisor.state() ?? .null,
            "network": s?.overlay.stateDump() ?? .null,
            "loadBalancer": await s?.loadBalancer.stateDump() ?? .null,
            "dhcp": await s?.dnsmasq.stateDump() ?? .null,
            "instances": await s?.instances.state() ?? .null,
            "statusReports": s?.reporter.state() ?? .null,
            "health": s?.health.state() ?? .null,
            "images": await s?.images.state() ?? .null,
            "recentStartLatenciesMs": .array(metrics.recentStartLatencies.suffix(20).map { .number(($0 * 1000).rounded()) }),
        ]
    }
}
