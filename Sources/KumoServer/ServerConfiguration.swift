import KumoControllers
/// Settings of `kumo server`.
public struct ServerConfiguration: Sendable {
    /// Holds `kumo.db` (+ WAL), `admin.token` (0600).
    public var dataDir: String
    public var host: String
    /// 0 picks a free port (tests); see `KumoServer.onListening`.
    public var port: Int
    /// `synchronous=FULL`: every commit fsyncs the WAL (survives power loss, costs write throughput).
    /// The default (NORMAL) survives a crash of the process (`kill -9`) with every acknowledged write.
    public var synchronousFull: Bool
    /// Request bodies over this → 413.
    public var maxBodyBytes: Int
    /// Blob uploads (`PUT /api/v1/blobs/{digest}`) are streamed to disk and not held to `maxBodyBytes`, but to this.
    public var maxBlobBytes: Int64
    /// Blobs no Image refers to are collected once they are older than this (a push in progress uploads its blobs
    /// before it tags them).
    public var blobGCGrace: Duration
    /// History records older than this are removed …
    public var historyMaxAge: Duration
    /// … and only the newest this many are kept per object.
    public var historyMaxPerObject: Int
    /// Events are removed this long after their last occurrence.
    public var eventTTL: Duration
    /// The store's change log keeps at least this many revisions for watches; older → 410.
    public var compactKeepRevisions: Int64
    /// How often retention (history, events, compaction) runs.
    public var retentionInterval: Duration
    /// The pod network, split into one /24 per node (`Node.spec.podCIDR`, owned by `ipam`).
    public var clusterCIDR: String
    /// Prefix length of each node's pod subnet (24: a /24 per node, 254 replicas).
    public var nodeSubnetPrefixLength: Int = 24
    /// Service VIPs (`Service.spec.clusterIP`, owned by `ipam`) come from here.
    public var serviceCIDR: String = "10.96.0.0/16"
    /// How often the autoscaler reads service load and decides.
    public var autoscaleInterval: Duration = .seconds(3)
    /// Run the in-process controllers (scheduler, workloads, node lifecycle). Off: the API only.
    public var runControllers: Bool
    /// Which controllers run when `runControllers` is on (tests run one alone).
    public var controllers: Set<String>
    public static let allControllers: Set<String> = ["scheduler", "workloads", "node-lifecycle", "endpoints", "autoscaler", "doctor"]
    /// How often the doctor evaluates every health check.
    public var doctorInterval: Duration = .seconds(5)
    /// Test seam: every store commit waits this long first (`--fault-commit-delay-ms`, hidden). Never in production.
    public var faultCommitDelay: Duration? = nil
    /// How often renewed node leases are written to the store (`LeaseTable`); below the node grace period.
    public var leaseCheckpointInterval: Duration = .seconds(2)
    /// A node without a heartbeat for this long is not Ready and its replicas are replaced elsewhere.
    public var nodeGracePeriod: Duration
    /// How long after its grace period a replica on a Ready node may stay Terminating before it is flagged.
    public var terminationMargin: Duration = TerminationDeadline.defaultMargin
    /// A watch stream written to less than this long ago gets further events coalesced into one write at the
    /// next tick: fewer writes for busy streams, at most this much added latency.
    public var watchFlushInterval: Duration = .milliseconds(40)
    /// How the API is served. Default: HTTPS with a certificate from the cluster CA (both made at first start).
    public var tls: TLSMode = .automatic
    /// Lifetime of the serving certificate the server issues itself; it is renewed (without a restart) when a
    /// third of it is left.
    public var servingCertificateLifetime: Duration = .seconds(365 * 86400)
    /// How often the serving certificate is checked for renewal (and operator files for changes).
    public var certificateCheckInterval: Duration = .seconds(60)
    /// Extra names/addresses for the serving certificate (besides the listen address, hostname, localhost, 127.0.0.1).
    public var extraSANs: [String] = []
    /// Authentication failures one source address may have in a burst before its requests get 429 …
    public var authFailureBurst: Int = 20
    /// … and how fast that allowance comes back (failures per second).
    public var authFailureRefillPerSecond: Double = 0.5
    /// Audit records (refused requests) are kept this long …
    public var auditMaxAge: Duration = .seconds(30 * 86400)
    /// … and at most this many.
    public var auditMaxRecords: Int = 100_000
    /// Lifetime of the certificates issued to agents at join.
    public var agentCertificateLifetime: Duration = .seconds(365 * 86400)

    public init(
        dataDir: String, host: String = "127.0.0.1", port: Int = 7480, synchronousFull: Bool = false,
        maxBodyBytes: Int = 3 << 20, historyMaxAge: Duration = .seconds(7 * 24 * 3600), historyMaxPerObject: Int = 100,
        eventTTL: Duration = .seconds(24 * 3600), compactKeepRevisions: Int64 = 100_000,
        retentionInterval: Duration = .seconds(60), clusterCIDR: String = "10.244.0.0/16", runControllers: Bool = true,
        nodeGracePeriod: Duration = .seconds(6), maxBlobBytes: Int64 = 4 << 30, blobGCGrace: Duration = .seconds(3600)
    ) {
        self.maxBlobBytes = maxBlobBytes
        self.blobGCGrace = blobGCGrace
        self.dataDir = dataDir
        self.host = host
        self.port = port
        self.synchronousFull = synchronousFull
        self.maxBodyBytes = maxBodyBytes
        self.historyMaxAge = historyMaxAge
        self.historyMaxPerObject = historyMaxPerObject
        self.eventTTL = eventTTL
        self.compactKeepRevisions = compactKeepRevisions
        self.retentionInterval = retentionInterval
        self.clusterCIDR = clusterCIDR
        self.runControllers = runControllers
        self.controllers = Self.allControllers
        self.nodeGracePeriod = nodeGracePeriod
    }

    public var databasePath: String { dataDir + "/kumo.db" }
    public var adminTokenPath: String { dataDir + "/admin.token" }
    /// The keys that seal Secret values at rest (0600, made at first start).
    public var secretKeyPath: String { dataDir + "/secrets.key" }
    public var blobDirectory: String { dataDir + "/blobs/sha256" }
    /// The cluster CA (0600): it signs the serving certificate and the agents' certificates.
    public var caCertPath: String { dataDir + "/ca.crt" }
    public var caKeyPath: String { dataDir + "/ca.key" }
    /// The serving certificate the server made itself (chain: leaf, CA) and its key (0600).
    public var servingCertPath: String { dataDir + "/server.crt" }
    public var servingKeyPath: String { dataDir + "/server.key" }

    /// Transport of the API.
    public enum TLSMode: Sendable, Equatable {
        /// HTTPS with a serving certificate signed by the cluster CA, renewed before it expires.
        case automatic
        /// HTTPS with an operator's certificate chain and key (PEM files, re-read when they change).
        case files(certificate: String, key: String)
        /// Plain HTTP: only for in-process benchmarks that compare the cost of TLS; `kumo server` has no flag for it.
        case plainHTTP
    }
}
