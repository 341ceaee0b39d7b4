import Foundation
import KumoModel
import Prometheus
import Synchronization

/// The agent's Prometheus metrics, on its own registry (swift-prometheus, as the server's): replicas by phase,
/// container starts and their start latency, exits, image pulls and cache hits, heartbeats, and the overlay
/// (peers, entries, batch apply latency, drift repairs by kind). Figures other components count themselves are
/// copied in at scrape time.
public final class AgentMetrics: Sendable {
    /// Start latency buckets (image pull + network + runc run).
    static let startBuckets: [Duration] = [25, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000, 10000].map { .milliseconds($0) }
    static let applyBuckets: [Duration] = [1, 5, 10, 25, 50, 100, 250, 1000].map { .milliseconds($0) }

    let registry = PrometheusCollectorRegistry()
    let starts: Counter
    let exits: Counter
    let startDuration: DurationHistogram
    let phases: [String: Gauge]
    let imagePulls: Gauge
    let imageCacheHits: Gauge
    let imagesCached: Gauge
    let heartbeatsOK: Gauge
    let heartbeatsFailed: Gauge
    let overlayPeers: Gauge
    let overlayEntries: Gauge
    let overlayPeersDataMissing: Gauge
    let overlayApply: DurationHistogram
    let overlayRepairs: [String: Counter]
    let dhcpMessages: [String: Counter]
    let dhcpLeases: Gauge
    let dhcpHosts: Gauge
    let dnsRecords: Gauge
    let dnsmasqRestarts: Counter
    let dnsmasqUp: Gauge
    let secretUpdates: Counter
    /// By stage: `watch` (a list or watch of secrets failed), `delivery` (a container's secret files could not
    /// be written).
    let secretFailures: [String: Counter]
    private let dhcpSeen = Mutex<(messages: [String: Int], restarts: Int)>(([:], 0))
    private let recent = Mutex<[Double]>([])

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: metric, unitName: unit, helpText: help)
    }

    public init() {
        let r = registry
        starts = r.makeCounter(descriptor: Self.name("kumo_agent_container_starts", "total", "Containers started"))
        exits = r.makeCounter(descriptor: Self.name("kumo_agent_container_exits", "total", "Container exits observed"))
        startDuration = r.makeDurationHistogram(
            descriptor: Self.name("kumo_agent_container_start", "seconds", "Image, network and runc start of a container"),
            buckets: Self.startBuckets)
        var phases: [String: Gauge] = [:]
        for phase in ReplicaPhase.allCases {
            phases[phase.rawValue] = r.makeGauge(
                descriptor: Self.name("kumo_agent_replicas", "", "Replicas on this node by phase"),
                labels: [("phase", phase.rawValue)])
        }
        self.phases = phases
        imagePulls = r.makeGauge(descriptor: Self.name("kumo_agent_image_pulls", "", "Images downloaded since start"))
        imageCacheHits = r.makeGauge(
            descriptor: Self.name("kumo_agent_image_cache_hits", "", "Image requests served from the node cache since start"))
        imagesCached = r.makeGauge(descriptor: Self.name("kumo_agent_images_cached", "", "Unpacked images in the node cache"))
        heartbeatsOK = r.makeGauge(
            descriptor: Self.name("kumo_agent_heartbeats", "", "Lease renewals since start by result"), labels: [("result", "ok")])
        heartbeatsFailed = r.makeGauge(
            descriptor: Self.name("kumo_agent_heartbeats", "", "Lease renewals since start by result"), labels: [("result", "failed")])
        overlayPeers = r.makeGauge(descriptor: Self.name("kumo_agent_overlay_peers", "", "Peers with overlay entries on this node"))
        overlayEntries = r.makeGauge(
            descriptor: Self.name("kumo_agent_overlay_entries", "", "Route, neighbour and FDB entries programmed"))
        overlayPeersDataMissing = r.makeGauge(
            descriptor: Self.name(
                "kumo_agent_overlay_peers_data_missing", "", "Peers whose overlay data vanished from the API (entries kept)"))
        overlayApply = r.makeDurationHistogram(
            descriptor: Self.name("kumo_agent_overlay_apply", "seconds", "Batch apply latency (ip -batch + bridge -batch)"),
            buckets: Self.applyBuckets)
        var repairs: [String: Counter] = [:]
        for kind in ["route", "neighbor", "fdb", "device"] {
            repairs[kind] = r.makeCounter(
                descriptor: Self.name(
                    "kumo_agent_overlay_drift_repairs", "total", "Entries or devices found changed outside Kumo and repaired"),
                labels: [("kind", kind)])
        }
        overlayRepairs = repairs
        var messages: [String: Counter] = [:]
        for type in DHCPLogParser.reportedTypes + ["RELEASE", "DECLINE", "INFORM"] {
            messages[type] = r.makeCounter(
                descriptor: Self.name(
                    "kumo_agent_dhcp_messages", "total", "DHCP messages seen in the node dnsmasq's --log-dhcp log by type"),
                labels: [("type", type)])
        }
        dhcpMessages = messages
        dhcpLeases = r.makeGauge(descriptor: Self.name("kumo_agent_dhcp_leases", "", "MACs with an acknowledged DHCP lease"))
        dhcpHosts = r.makeGauge(descriptor: Self.name("kumo_agent_dhcp_hosts", "", "Static DHCP reservations (hostsfile lines)"))
        dnsRecords = r.makeGauge(descriptor: Self.name("kumo_agent_dns_records", "", "Names served by the node dnsmasq"))
        dnsmasqRestarts = r.makeCounter(descriptor: Self.name("kumo_agent_dnsmasq_restarts", "total", "dnsmasq restarts after it died"))
        dnsmasqUp = r.makeGauge(descriptor: Self.name("kumo_agent_dnsmasq_up", "", "1 while the node dnsmasq runs"))
        secretUpdates = r.makeCounter(
            descriptor: Self.name("kumo_agent_secret_updates", "total", "New secret versions received from the node's secret watch"))
        var secretFailures: [String: Counter] = [:]
        for stage in ["watch", "delivery"] {
            secretFailures[stage] = r.makeCounter(
                descriptor: Self.name(
                    "kumo_agent_secret_failures", "total", "Failures to follow secrets (watch) or write them into containers (delivery)"),
                labels: [("stage", stage)])
        }
        self.secretFailures = secretFailures
    }

    /// Copies the dnsmasq figures in (counters advance by what is new since the last scrape).
    func dnsmasqObserved(_ s: DnsmasqMetricsSnapshot) {
        dhcpSeen.withLock { seen in
            for (type, count) in s.messages {
                let delta = count - (seen.messages[type] ?? 0)
                if delta > 0 { dhcpMessages[type]?.increment(by: Int64(delta)) }
            }
            seen.messages = s.messages
            if s.restarts > seen.restarts { dnsmasqRestarts.increment(by: Int64(s.restarts - seen.restarts)) }
            seen.restarts = s.restarts
        }
        dhcpLeases.set(Double(s.leases))
        dhcpHosts.set(Double(s.hosts))
        dnsRecords.set(Double(s.records))
        dnsmasqUp.set(Double(s.running ? 1 : 0))
    }

    func containerStarted(latency: Duration) {
        starts.increment()
        startDuration.record(latency)
        let seconds = Double(latency.milliseconds) / 1000
        recent.withLock { r in
            r.append(seconds)
            if r.count > 1000 { r.removeFirst(r.count - 1000) }
        }
    }

    func containerExited() { exits.increment() }

    func overlayApplied(_ latency: Duration) { overlayApply.record(latency) }

    func overlayRepaired(kind: String) { overlayRepairs[kind]?.increment() }

    func overlaySynced(peers: Int, entries: Int, peersDataMissing: Int) {
        overlayPeers.set(Double(peers))
        overlayEntries.set(Double(entries))
        overlayPeersDataMissing.set(Double(peersDataMissing))
    }

    /// Recent start latencies (seconds), for the state dump.
    var recentStartLatencies: [Double] { recent.withLock { $0 } }

    /// The exposition text, with the figures counted elsewhere copied in first.
    func render(phases counts: [String: Int], images: (pulls: Int, hits: Int, cached: Int), heartbeats: (ok: Int, failed: Int))
        -> String
    {
        for (phase, gauge) in phases { gauge.set(Double(counts[phase] ?? 0)) }
        imagePulls.set(Double(images.pulls))
        imageCacheHits.set(Double(images.hits))
        imagesCached.set(Double(images.cached))
        heartbeatsOK.set(Double(heartbeats.ok))
        heartbeatsFailed.set(Double(heartbeats.failed))
        return String(decoding: registry.emitToBuffer(), as: UTF8.self)
    }
}
