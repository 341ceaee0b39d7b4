import AsyncHTTPClient
import Foundation
import KumoAPI
import KumoModel
import KumoStore
import KumoSystem
import Logging
import Synchronization

/// Everything a request handler needs, built once per server.
public final class ServerCore: Sendable {
    public let config: ServerConfiguration
    public let store: any Store
    public let resources: ResourceService
    public let tokens: TokenService
    public let metrics: ServerMetrics
    public let logger: Logger
    public let startedAt: Date
    public let watchCache: WatchRenderCache
    public let retentionState = RetentionState()
    public let watches = WatchRegistry()
    public let broadcaster: WatchBroadcaster
    public let images: ImageService
    /// The cluster CA (signs the serving certificate and the agents' certificates).
    public let ca: CertificateAuthority
    /// What the API presents over TLS (nil: plain HTTP, benchmarks only).
    public let serving: ServingCertificate?
    /// What the proxy to agents uses: trusts only the cluster CA (hostname checked against the agent's
    /// certificate) and presents a client certificate from it (agents require one).
    public let agentHTTP: HTTPClient
    /// Refused requests (401/403/429), queryable with `kumo audit`.
    public let audit: AuditLog
    /// 429 for sources with too many authentication failures.
    public let failureLimiter: FailureLimiter
    /// The agents' latest health reports (`POST /api/v1/nodes/NAME/health`).
    public let healthReports = NodeHealthReports()
    /// Node heartbeat leases: in memory, checkpointed to the store.
    public let leases: LeaseTable
    /// Set by `KumoServer` once built (it needs the core).
    let doctorBox = Mutex<DoctorService?>(nil)
    /// The doctor, or 503 when this server does not run it.
    public func doctor() throws(KumoError) -> DoctorService {
        guard let d = doctorBox.withLock({ $0 }) else {
            throw KumoError(.unavailable, "this server does not run the doctor (its controllers are off)")
        }
        return d
    }
    /// State dumps of in-process components (controllers), by name, for `/debug/state`.
    let stateProviders = Mutex<[String: @Sendable () -> JSONValue]>([:])

    public init(config: ServerConfiguration, store: any Store, metrics: ServerMetrics, logger: Logger) throws(KumoError) {
        self.config = config
        self.metrics = metrics
        self.store = InstrumentedStore(store, metrics: metrics)
        self.logger = logger
        self.leases = LeaseTable(store: self.store, checkpointInterval: config.leaseCheckpointInterval, logger: logger.with(label: "kumo.leases"))
        let nodePrefix = config.nodeSubnetPrefixLength
        guard (16...28).contains(nodePrefix) else {
            throw KumoError(.invalid, "node subnet size must be /16 to /28, not /\(nodePrefix)", field: "node-subnet-size")
        }
        guard let cluster = IPv4Network(config.clusterCIDR), cluster.prefixLength <= nodePrefix else {
            throw KumoError(
                .invalid,
                "cluster CIDR \(config.clusterCIDR) must be an IPv4 network of /\(nodePrefix) (the node subnet size) or larger, like 10.244.0.0/16",
                field: "cluster-cidr")
        }
        guard let services = IPv4Network(config.serviceCIDR), (8...28).contains(services.prefixLength),
            !services.contains(cluster.first), !cluster.contains(services.first)
        else {
            throw KumoError(
                .invalid,
                "service CIDR \(config.serviceCIDR) must be an IPv4 network of /8 to /28 that does not overlap the cluster CIDR \(config.clusterCIDR)",
                field: "service-cidr")
        }
        let keyring = try SecretKeyring(path: config.secretKeyPath, logger: logger)
        self.resources = ResourceService(
            store: self.store, logger: logger, ipam: IPAM(cluster: cluster, nodePrefixLength: nodePrefix, services: services),
            secrets: keyring)
        // Watch streams serve what reads serve: Secret values opened (view tokens then get them redacted).
        let open: @Sendable (JSONValue) -> JSONValue = { SecretCodec.openLeniently($0, keyring: keyring) }
        self.watchCache = WatchRenderCache(open: open)
        let ca = try CertificateAuthority.loadOrCreate(certPath: config.caCertPath, keyPath: config.caKeyPath)
        self.ca = ca
        self.serving =
            config.tls == .plainHTTP
            ? nil
            : try ServingCertificate(
                config: config, ca: ca, logger: logger.with(label: "kumo.tls"),
                onHandshake: { metrics.tlsHandshakes.increment() })
        let proxyIdentity = try ca.issue(
            commonName: "kumo server proxy", dnsNames: ["kumo-server"], ipAddresses: [],
            lifetime: config.agentCertificateLifetime)
        self.agentHTTP = try ClusterTrust.httpClient(
            caPEM: ca.pem, identity: (proxyIdentity.chainPEM, proxyIdentity.keyPEM))
        self.tokens = try TokenService(
            store: self.store, adminTokenPath: config.adminTokenPath, caFingerprint: ca.fingerprint, logger: logger)
        self.audit = AuditLog(store: self.store, logger: logger.with(label: "kumo.audit"))
        self.failureLimiter = FailureLimiter(burst: config.authFailureBurst, refillPerSecond: config.authFailureRefillPerSecond)
        self.startedAt = Date()
        self.broadcaster = WatchBroadcaster(
            store: self.store, logger: logger, flushInterval: config.watchFlushInterval, open: open)
        let imageLogger = logger.with(label: "kumo.images")
        self.images = ImageService(
            blobs: BlobStore(dataDir: config.dataDir, logger: imageLogger), resources: resources,
            command: Command(logger: imageLogger), gcGrace: config.blobGCGrace, logger: imageLogger)
    }

    public func registerState(_ name: String, _ provider: @escaping @Sendable () -> JSONValue) {
        stateProviders.withLock { $0[name] = provider }
    }

    func componentStates() -> JSONValue {
        let providers = stateProviders.withLock { $0 }
        return .object(providers.mapValues { $0() })
    }
}
