import KumoModel

/// Everything the checks read, taken at one moment: the objects, recent events and history, the server's own
/// component state and each agent's latest health report. The checks are pure functions of it.
public struct HealthSnapshot: Sendable {
    public var now: Timestamp
    public var nodes: [Node] = []
    /// Node name → last lease renewal (heartbeat).
    public var leases: [String: Timestamp] = [:]
    public var replicas: [Replica] = []
    public var instances: [Instance] = []
    public var services: [Service] = []
    public var workloads: [Workload] = []
    public var images: [Image] = []
    /// Names and keys only: the doctor never sees a secret value.
    public var secrets: [SecretSummary] = []
    /// Recent events (the last hour or so).
    public var events: [Event] = []
    /// Recent changes (history records) of nodes and other objects checks trace writers in.
    public var changes: [ChangeRecord] = []
    public var server = ServerFacts()
    /// Node name → its agent's latest health report.
    public var reports: [String: NodeHealthReport] = [:]
    public var options = DoctorOptions()
    /// Lookups built once per evaluation (`Doctor.evaluate` builds it): checks stay linear on 1,000 nodes.
    var index = SnapshotIndex()

    public init(now: Timestamp) { self.now = now }

    /// Nodes by name.
    public func node(_ name: String) -> Node? {
        if index.built { return index.nodes[name].map { nodes[$0] } }
        return nodes.first { $0.metadata.name == name }
    }

    mutating func buildIndex() {
        var i = SnapshotIndex()
        for (k, n) in nodes.enumerated() { i.nodes[n.metadata.name] = k }
        for (k, r) in replicas.enumerated() {
            if let node = r.spec.nodeName { i.replicasByNode[node, default: []].append(k) }
            let project = r.metadata.project ?? ""
            if let w = Self.workloadName(of: r) { i.replicasByWorkload[project + "/" + w, default: []].append(k) }
            for (key, value) in r.metadata.labels ?? [:] { i.replicasByLabel[project + "\u{0}" + key + "=" + value, default: []].append(k) }
        }
        for (k, e) in events.enumerated() {
            let r = e.spec.regarding
            i.eventsByRegarding[r.kind + "/" + (r.project ?? "") + "/" + r.name, default: []].append(k)
        }
        index = i
        index.fresh = reports.filter { freshReportUncached($0.key) != nil }
        index.silent = nodesWithoutHeartbeat
        index.built = true
    }
}

struct SnapshotIndex: Sendable {
    var built = false
    var nodes: [String: Int] = [:]
    var replicasByNode: [String: [Int]] = [:]
    var replicasByWorkload: [String: [Int]] = [:]
    /// `project NUL key=value` → replicas carrying that label.
    var replicasByLabel: [String: [Int]] = [:]
    var silent: Set<String> = []
    /// `Kind/project/name` → events about it.
    var eventsByRegarding: [String: [Int]] = [:]
    /// Reports recent enough to believe, by node.
    var fresh: [String: NodeHealthReport] = [:]
}

/// A secret without its values.
public struct SecretSummary: Codable, Sendable, Equatable {
    public var project: String
    public var name: String
    public var keys: [String]

    public init(project: String, name: String, keys: [String]) {
        self.project = project
        self.name = name
        self.keys = keys
    }
}

/// One history record, reduced to what a check needs to name a writer.
public struct ChangeRecord: Codable, Sendable, Equatable {
    public var object: ObjectReference
    public var time: String
    public var manager: String
    public var operation: String
    /// `op path` of each patch operation, e.g. `remove /status/overlay`.
    public var changes: [String]
    public var forced: Bool

    public init(object: ObjectReference, time: String, manager: String, operation: String, changes: [String], forced: Bool = false) {
        self.object = object
        self.time = time
        self.manager = manager
        self.operation = operation
        self.changes = changes
        self.forced = forced
    }

    public var timestamp: Timestamp? { Timestamp(rfc3339: time) }

    /// Whether one of its operations touched `path` or something below it (`/status/overlay`).
    public func touches(_ path: String) -> Bool {
        changes.contains { c in
            guard let p = c.split(separator: " ", maxSplits: 1).last.map(String.init) else { return false }
            return p == path || p.hasPrefix(path + "/") || path.hasPrefix(p + "/") || p == ""
        }
    }

    /// `admin at 2026-12-02T10:00:00Z: remove /status/overlay (forced)`.
    public var line: String {
        "\(manager) \(operation) at \(time): \(changes.prefix(4).joined(separator: ", "))\(forced ? " (forced)" : "")"
    }
}

/// The server's own state, read where it runs.
public struct ServerFacts: Codable, Sendable, Equatable {
    /// Store commits in the recent window: their count, the slowest and the 99th percentile, and failures.
    public var recentCommits: Int = 0
    public var commitP99Ms: Double = 0
    public var commitMaxMs: Double = 0
    public var commitFailures: Int = 0
    public var pendingWrites: Int = 0
    public var revision: Int64 = 0
    /// Watch streams that are behind.
    public var watchers: [WatcherLag] = []
    public var certificates: [CertificateFact] = []
    /// Unbound replicas queued in the scheduler and when it last placed one.
    public var schedulerQueueDepth: Int = 0
    public var nodeGraceSeconds: Double = 6

    public init() {}
}

public struct WatcherLag: Codable, Sendable, Equatable {
    /// Who watches: a node's agent, a controller, a client; and what.
    public var watcher: String
    public var resource: String
    /// Revisions between the store's head and the last one delivered.
    public var behindRevisions: Int64
    /// Events waiting to be sent.
    public var queued: Int
    /// Seconds since it last received anything while it was behind.
    public var stalledSeconds: Double

    public init(watcher: String, resource: String, behindRevisions: Int64, queued: Int, stalledSeconds: Double) {
        self.watcher = watcher
        self.resource = resource
        self.behindRevisions = behindRevisions
        self.queued = queued
        self.stalledSeconds = stalledSeconds
    }
}

public struct CertificateFact: Codable, Sendable, Equatable {
    /// `cluster CA`, `serving certificate`, `agent node-2`.
    public var name: String
    public var node: String?
    public var notAfter: String
    /// With it, the warning window is at most a quarter of the lifetime: a short-lived certificate that renews
    /// itself at a third left is not "close to expiry" all its life.
    public var notBefore: String?
    public var subject: String?

    public init(name: String, node: String? = nil, notAfter: String, notBefore: String? = nil, subject: String? = nil) {
        self.name = name
        self.node = node
        self.notAfter = notAfter
        self.notBefore = notBefore
        self.subject = subject
    }
}

/// Thresholds (Coroot's idea: each check has a default that can be overridden).
public struct DoctorOptions: Codable, Sendable, Equatable {
    /// A repaired incident stays a `warn` for this long.
    public var repairedMemorySeconds: Double = 3600
    /// A health report older than this (plus the lease grace) is stale.
    public var reportStaleSeconds: Double = 30
    /// Store commits whose p99 exceeds this are slow.
    public var slowCommitMs: Double = 500
    /// A watch stream this many revisions behind for `watchStallSeconds` is lagging.
    public var watchLagRevisions: Int64 = 100
    public var watchStallSeconds: Double = 10
    /// A certificate closer to expiry than this is a `warn` (a tenth of it: `error`).
    public var certificateWarnDays: Double = 30
    /// Restarts that make a crash loop.
    public var crashLoopRestarts: Int = 3
    /// A Running replica not Ready for longer than this is a finding.
    public var notReadyGraceSeconds: Double = 60
    /// … or longer than this when its node reports the readiness probe failing (status reason NotReady).
    public var notReadyProbeGraceSeconds: Double = 15
    /// Clock skew between a node and the server.
    public var clockSkewSeconds: Double = 2
    /// Free disk below this fraction.
    public var diskFreeWarnFraction: Double = 0.10
    /// DHCP refusals of one unknown MAC within the report window that make a finding.
    public var unknownClientMessages: Int = 3

    public init() {}
}
