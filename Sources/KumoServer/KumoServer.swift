import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdTLS
import KumoAPI
import KumoControllers
import KumoModel
import KumoStore
import KumoSystem
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The API server process: the store, the HTTP API and the background services, in one ServiceGroup with
/// graceful shutdown (SIGTERM/SIGINT): stop accepting, end watch streams, finish in-flight writes, close the store.
public final class KumoServer: Sendable {
    public let core: ServerCore
    public let application: Application<RouterResponder<KumoRequestContext>>
    /// The typed caches every controller of this process shares (one list + watch per kind).
    public let informers: ControllerInformers
    public let scheduling: SchedulingController
    public let workloads: WorkloadController
    public let nodeLifecycle: NodeLifecycleController
    public let endpoints: EndpointsController
    public let autoscaler: AutoscalerController
    public let doctor: DoctorService
    private let group = Mutex<ServiceGroup?>(nil)

    /// Opens (or creates) the data directory and store. `onListening` gets the bound port (useful with port 0).
    public init(
        config: ServerConfiguration, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws(KumoError) {
        try Self.prepareDataDir(config.dataDir)
        let store: SQLiteStore
        do {
            store = try SQLiteStore(
                path: config.databasePath,
                options: SQLiteStore.Options(synchronous: config.synchronousFull ? .full : .normal),
                logger: logger.with(label: "kumo.store"))
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.unavailable, "failed to open store \(config.databasePath): \(error)", cause: error)
        }
        let core = try ServerCore(
            config: config, store: store, metrics: ServerMetrics(faultCommitDelay: config.faultCommitDelay), logger: logger)
        self.core = core
        let plane = InProcessControlPlane(core: core)
        let informers = ControllerInformers(source: plane, logger: logger.with(label: "kumo.informers"))
        self.informers = informers
        core.registerState("informers") { informers.snapshot() }
        core.registerState("leases") { core.leases.snapshot() }
        let scheduling = SchedulingController(plane: plane, informers: informers, logger: logger.with(label: "kumo.scheduler"))
        self.scheduling = scheduling
        core.registerState("scheduler") { scheduling.snapshot() }
        let workloads = WorkloadController(plane: plane, informers: informers, logger: logger.with(label: "kumo.workloads"))
        self.workloads = workloads
        core.registerState("workloads") { workloads.snapshot() }
        let nodeLifecycle = NodeLifecycleController(
            plane: plane, options: Self.nodeLifecycleOptions(config), informers: informers, logger: logger.with(label: "kumo.nodes"))
        self.nodeLifecycle = nodeLifecycle
        core.registerState("nodeLifecycle") { nodeLifecycle.snapshot() }
        let endpoints = EndpointsController(plane: plane, informers: informers, logger: logger.with(label: "kumo.endpoints"))
        self.endpoints = endpoints
        core.registerState("endpoints") { endpoints.snapshot() }
        let autoscaler = AutoscalerController(
            plane: plane, metrics: AgentLoadBalancerMetrics(core: core), interval: config.autoscaleInterval,
            informers: informers, logger: logger.with(label: "kumo.autoscaler"))
        self.autoscaler = autoscaler
        core.registerState("autoscaler") { autoscaler.snapshot() }
        let doctor = DoctorService(
            core: core, reports: core.healthReports, interval: config.doctorInterval, informers: informers,
            logger: logger.with(label: "kumo.doctor"))
        self.doctor = doctor
        core.doctorBox.withLock { $0 = doctor }
        core.registerState("doctor") { doctor.snapshotState() }
        // Idle connections (and stalled TLS handshakes, slow request heads) are closed after 2 minutes: longer
        // than clients keep idle keep-alive connections (60 s), so they close first.
        let connection = HTTP1Channel.Configuration(idleTimeout: .seconds(120))
        let http1 = HTTPServerBuilder.http1(configuration: connection)
        // the lease table first: stopped last, its final checkpoint follows every renewal
        var services: [any ServiceLifecycle.Service] = [core.leases, RetentionService(core: core)]
        let server: HTTPServerBuilder
        if let serving = core.serving {
            do {
                // HTTP/2 where the client offers it (ALPN h2; HTTP/1.1 otherwise): an agent's watches, heartbeats
                // and reports share one connection, so thousands of agents fit the open-files limit (issue 15)
                server = try .http2Upgrade(
                    tlsConfiguration: serving.tlsConfiguration(),
                    configuration: .init(idleTimeout: .seconds(120), streamConfiguration: connection))
            } catch {
                throw KumoError(.internal, "failed to set up TLS: \(error)", cause: error)
            }
            services.append(
                CertificateRenewalService(
                    serving: serving, interval: config.certificateCheckInterval, logger: logger.with(label: "kumo.tls")))
        } else {
            server = http1
        }
        self.application = Application(
            router: APIRouter.build(core: core),
            server: server,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "kumo"),
            services: services,
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? config.port) },
            logger: logger)
    }

    /// Runs until one of `signals` arrives or `shutdown()` is called, then shuts down gracefully and closes the
    /// store.
    public func run(signals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        core.logger.notice(
            "kumo server starting",
            metadata: [
                "listen": "\(core.config.host):\(core.config.port)", "dataDir": "\(core.config.dataDir)",
                "tls": "\(core.serving != nil)", "caFingerprint": "\(ClusterTrust.display(core.ca.fingerprint))",
            ])
        defer { core.logger.notice("kumo server stopped") }
        do {
            try await core.resources.checkSecretKeys()
        } catch {
            // a key file this start made for a store that needs another one would only be in the way
            if core.resources.secrets.createdKeyFile, let path = core.resources.secrets.path { unlink(path) }
            await closeResources()
            throw error
        }
        do {
            try await core.resources.assignFreedSubnets()  // a subnet freed just before a crash
        } catch {
            core.logger.warning("failed to assign freed node subnets", metadata: ["error": "\(error.message)"])
        }
        do {
            _ = try await core.resources.sealPlaintextSecrets()
        } catch {
            // not fatal: reads still serve those values; the next start or `kumo secret rotate-key` retries
            core.logger.error("failed to seal secrets stored in clear", metadata: ["error": "\(error)"])
        }
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: [application, core.broadcaster, WatchCloser(registry: core.watches)]
                    + controllers(core.config),
                gracefulShutdownSignals: signals,
                logger: core.logger))
        group.withLock { $0 = serviceGroup }
        do {
            try await serviceGroup.run()
        } catch {
            await closeResources()
            throw error
        }
        await closeResources()
    }

    /// What the server owns beyond its services: the store and the HTTP client of the agent proxy.
    private func closeResources() async {
        await core.store.close()
        try? await core.agentHTTP.shutdown()
    }

    private func controllers(_ config: ServerConfiguration) -> [any ServiceLifecycle.Service] {
        guard config.runControllers else { return [] }
        var out: [any ServiceLifecycle.Service] = []
        if config.controllers.contains("scheduler") { out.append(scheduling) }
        if config.controllers.contains("workloads") { out.append(workloads) }
        if config.controllers.contains("node-lifecycle") { out.append(nodeLifecycle) }
        if config.controllers.contains("endpoints") { out.append(endpoints) }
        if config.controllers.contains("autoscaler") { out.append(autoscaler) }
        if config.controllers.contains("doctor") { out.append(doctor) }
        // the caches first: a graceful shutdown stops services in reverse order, so they outlive the controllers
        let cached: Set<String> = ["scheduler", "workloads", "node-lifecycle", "endpoints", "autoscaler"]
        if !config.controllers.isDisjoint(with: cached) { out.insert(informers, at: 0) }
        return out
    }

    private static func nodeLifecycleOptions(_ config: ServerConfiguration) -> NodeLifecycle.Options {
        var options = NodeLifecycle.Options(gracePeriod: config.nodeGracePeriod)
        options.terminationMargin = config.terminationMargin
        return options
    }

    /// Begins a graceful shutdown of a running server (what SIGTERM does).
    public func shutdown() async {
        guard let g = group.withLock({ $0 }) else { return }
        await g.triggerGracefulShutdown()
    }

    /// The store key where a backup taken with `includeSecretsKey` carries the sealed key file.
    public static let backupKeyEnvelopeKey = "/backup/secrets-key"

    /// Copies a backup file into an empty data directory as its store (`kumo server --restore`), with the
    /// secrets key that opens its secrets: `secretsKey` (a key file copied from the old data directory) or the key
    /// sealed into the backup (`kumo backup create --include-secrets-key`), opened with `passphrase`. Without
    /// either, the server's start refuses a store whose secrets it cannot open (`checkSecretKeys`).
    public static func restore(
        from backup: String, into dataDir: String, secretsKey: String? = nil, passphrase: String? = nil, logger: Logger
    ) async throws(KumoError) {
        try prepareDataDir(dataDir)
        let target = dataDir + "/kumo.db"
        let keyTarget = dataDir + "/secrets.key"
        let fm = FileManager.default
        if fm.fileExists(atPath: target) {
            throw KumoError(
                .conflict, "refusing to restore: \(target) already exists; restore into a new, empty --data-dir",
                field: "data-dir")
        }
        if secretsKey != nil || passphrase != nil, fm.fileExists(atPath: keyTarget) {
            throw KumoError(
                .conflict, "refusing to restore: \(keyTarget) already exists; restore into a new, empty --data-dir",
                field: "data-dir")
        }
        guard fm.fileExists(atPath: backup) else {
            throw KumoError(.notFound, "backup file \(backup) not found", field: "restore")
        }
        guard let head = FileHandle(forReadingAtPath: backup)?.readData(ofLength: 16),
            head == Data("SQLite format 3\0".utf8)
        else {
            throw KumoError(.invalid, "\(backup) is not a Kumo backup (not an SQLite database)", field: "restore")
        }
        let keyFile: [UInt8]?
        if let secretsKey {
            guard let data = fm.contents(atPath: secretsKey) else {
                throw KumoError(.notFound, "secrets key file \(secretsKey) not found", field: "secrets-key")
            }
            _ = try SecretKeyring.validateFile(Array(data), source: secretsKey)
            keyFile = Array(data)
        } else {
            keyFile = nil
        }
        do {
            try fm.copyItem(atPath: backup, toPath: target)
            chmod(target, 0o600)
        } catch {
            throw KumoError(.internal, "failed to restore \(backup) into \(target): \(error)", cause: error)
        }
        do {
            try await takeKeyEnvelope(store: target, into: keyTarget, keyFile: keyFile, passphrase: passphrase, logger: logger)
        } catch {
            // leave the data directory as it was: empty, so the operator can retry with the right key
            for suffix in ["", "-wal", "-shm"] { unlink(target + suffix) }
            unlink(keyTarget)
            throw error
        }
    }

    /// Writes the restored store's key file — `keyFile`, or the envelope in the store opened with `passphrase`
    /// — and removes the envelope from the store (a key file beside the store is the one place keys live).
    private static func takeKeyEnvelope(
        store path: String, into keyTarget: String, keyFile: [UInt8]?, passphrase: String?, logger: Logger
    ) async throws(KumoError) {
        let store: SQLiteStore
        do {
            store = try SQLiteStore(path: path, logger: logger.with(label: "kumo.restore"))
        } catch {
            throw KumoError(.invalid, "failed to open the restored store \(path): \(error)", cause: error)
        }
        do {
            let envelope = try await store.get(backupKeyEnvelopeKey)
            var bytes = keyFile
            if bytes == nil, let passphrase {
                guard let envelope else {
                    throw KumoError(
                        .invalid,
                        "the backup holds no secrets key (it was taken without --include-secrets-key): restore with --secrets-key KEYFILE",
                        field: "backup-passphrase-file")
                }
                let opened = try BackupKeyEnvelope.open(try JSONValue(parsing: envelope.value), passphrase: passphrase)
                _ = try SecretKeyring.validateFile(opened, source: "the backup's secrets key")
                bytes = opened
            }
            if let bytes { try SecureFile.write(Data(bytes), to: keyTarget) }
            if envelope != nil { _ = try await store.commit(Txn(operations: [.delete(backupKeyEnvelopeKey)])) }
            await store.close()
        } catch let e as KumoError {
            await store.close()
            throw e
        } catch {
            await store.close()
            throw KumoError(.internal, "failed to restore the secrets key: \(error)", cause: error)
        }
    }

    static func prepareDataDir(_ dir: String) throws(KumoError) {
        do {
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw KumoError(.internal, "failed to create data directory \(dir): \(error)", cause: error)
        }
    }
}
