import Prometheus
import Synchronization

/// The API server's Prometheus metrics, on a registry passed in (never the global metrics system, so tests can
/// run several servers in one process).
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let requestCounters = Mutex<[String: Counter]>([:])
    private let requestHistograms = Mutex<[String: DurationHistogram]>([:])
    public let storeCommitDuration: DurationHistogram
    public let storeCommits: Counter
    public let storeCommitFailures: Counter
    public let storeRevision: Gauge
    public let storeCompactedRevision: Gauge
    public let storeDatabaseBytes: Gauge
    public let storeWALBytes: Gauge
    public let watchers: Gauge
    /// One per new TLS connection (keep-alive clients reuse theirs).
    public let tlsHandshakes: Counter
    public let watchEventsSent: Counter
    public let watchWrites: Counter
    /// Node-scoped lists read from the binding index (`APIHandlers.list`), not by scanning their collection.
    public let indexedLists: Counter
    private let watcherCount = Mutex<Int>(0)
    /// Scheduler figures, copied from its state on each scrape (the scheduler itself has no metrics dependency).
    public let schedulerQueueDepth: Gauge
    public let schedulerPending: Gauge
    public let schedulerAttempts: Gauge
    public let schedulerPlaced: Gauge
    public let schedulerUnschedulable: Gauge
    public let schedulerLastPlacementSeconds: Gauge
    /// The last minute of commits, for `kumo doctor`.
    public let recentCommits = RecentCommits()
    /// A test seam (`kumo server --fault-commit-delay-ms`): every commit waits this long first. Never set in
    /// production; it is how tests make "slow commits" without a slow disk.
    public let faultCommitDelay: Duration?
    /// `kumo_health_check{code,component,node,severity}`: 1 per failing finding.
    public let healthChecks: HealthCheckGauges

    static let latencyBuckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(5),
    ]

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: metric, unitName: unit, helpText: help)
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), faultCommitDelay: Duration? = nil) {
        self.registry = registry
        self.faultCommitDelay = faultCommitDelay
        self.healthChecks = HealthCheckGauges(registry: registry)
        schedulerQueueDepth = registry.makeGauge(descriptor: Self.name("kumo_scheduler_queue_depth", "", "Replicas waiting in the scheduling queue"))
        schedulerPending = registry.makeGauge(descriptor: Self.name("kumo_scheduler_pending", "", "Replicas that fit no node (Pending, retried)"))
        schedulerAttempts = registry.makeGauge(descriptor: Self.name("kumo_scheduler_attempts", "", "Placement attempts since start"))
        schedulerPlaced = registry.makeGauge(descriptor: Self.name("kumo_scheduler_placed", "", "Replicas placed and bound since start"))
        schedulerUnschedulable = registry.makeGauge(
            descriptor: Self.name("kumo_scheduler_unschedulable", "", "Attempts that found no feasible node since start"))
        schedulerLastPlacementSeconds = registry.makeGauge(
            descriptor: Self.name("kumo_scheduler_last_placement", "seconds", "Duration of the last placement (schedule + bind)"))
        storeCommitDuration = registry.makeDurationHistogram(
            descriptor: Self.name("kumo_store_commit_duration", "seconds", "Store transaction latency, from submit to durable commit (group commit included)"),
            buckets: Self.latencyBuckets)
        storeCommits = registry.makeCounter(descriptor: Self.name("kumo_store_commits", "total", "Store transactions committed"))
        storeCommitFailures = registry.makeCounter(
            descriptor: Self.name("kumo_store_commit_failures", "total", "Store transactions refused (failed compare) or failed"))
        storeRevision = registry.makeGauge(descriptor: Self.name("kumo_store_revision", "", "Current store revision"))
        storeCompactedRevision = registry.makeGauge(
            descriptor: Self.name("kumo_store_compacted_revision", "", "Watches from below this revision get 410"))
        storeDatabaseBytes = registry.makeGauge(descriptor: Self.name("kumo_store_database", "bytes", "SQLite database file size"))
        storeWALBytes = registry.makeGauge(descriptor: Self.name("kumo_store_wal", "bytes", "SQLite write-ahead log size"))
        tlsHandshakes = registry.makeCounter(
            descriptor: Self.name("kumo_tls_handshakes", "total", "TLS handshakes begun (new connections to the API)"))
        watchers = registry.makeGauge(descriptor: Self.name("kumo_api_watchers", "", "Open watch streams"))
        watchEventsSent = registry.makeCounter(
            descriptor: Self.name("kumo_api_watch_events_sent", "total", "Watch events written to clients by the store-backed path (old since)"))
        watchWrites = registry.makeCounter(
            descriptor: Self.name("kumo_api_watch_writes", "total", "Writes to watch streams (each may carry several coalesced events)"))
        indexedLists = registry.makeCounter(
            descriptor: Self.name("kumo_api_indexed_lists", "total", "Node-scoped replica and instance lists read from the node binding index instead of a collection scan"))
    }

    private let authFailureCounters = Mutex<[String: Counter]>([:])

    /// `kumo_auth_failures_total{reason}`: unauthenticated, expired, forbidden, rateLimited.
    public func recordAuthFailure(reason: String) {
        let counter = authFailureCounters.withLock { counters in
            if let c = counters[reason] { return c }
            let c = registry.makeCounter(
                descriptor: Self.name("kumo_auth_failures", "total", "Authentication failures, authorization denials and rate-limited requests by reason"),
                labels: [("reason", reason)])
            counters[reason] = c
            return c
        }
        counter.increment()
    }

    public func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let key = "\(route) \(method) \(status)"
        let counter = requestCounters.withLock { counters in
            if let c = counters[key] { return c }
            let c = registry.makeCounter(
                descriptor: Self.name("kumo_api_requests", "total", "API requests by route template, method and status code"),
                labels: [("route", route), ("method", method), ("code", String(status))])
            counters[key] = c
            return c
        }
        counter.increment()
        let hkey = "\(route) \(method)"
        let histogram = requestHistograms.withLock { hs in
            if let h = hs[hkey] { return h }
            let h = registry.makeDurationHistogram(
                descriptor: Self.name("kumo_api_request_duration", "seconds", "API request latency by route template and method"),
                labels: [("route", route), ("method", method)], buckets: Self.latencyBuckets)
            hs[hkey] = h
            return h
        }
        histogram.record(duration)
    }

    public func watcherOpened() {
        let n = watcherCount.withLock { $0 += 1; return $0 }
        watchers.set(Double(n))
    }

    public func watcherClosed() {
        let n = watcherCount.withLock { $0 -= 1; return $0 }
        watchers.set(Double(n))
    }

    public var openWatchers: Int { watcherCount.withLock { $0 } }
}
