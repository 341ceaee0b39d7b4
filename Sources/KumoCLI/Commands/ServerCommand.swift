import ArgumentParser
import Foundation
import KumoAPI
import KumoModel
import KumoServer
import Logging

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the control plane: store, API server, retention.",
        discussion: """
            On first start the data directory gets the store (kumo.db, SQLite in WAL mode), an admin token \
            (admin.token), the cluster CA (ca.crt, ca.key) and a serving certificate (server.crt, server.key), all \
            mode 0600. The API is served over HTTPS only (plain HTTP connections fail the TLS handshake); the serving \
            certificate is renewed before it expires without a restart. \
            Log in with: kumo login --server https://HOST:PORT --token-file DATA/admin.token --ca DATA/ca.crt
            Stops gracefully on SIGTERM/SIGINT.
            """)

    @Option(help: "Data directory (store, admin token). Default: /var/lib/kumo as root, else ~/.kumo/server.")
    var dataDir: String?

    @Option(help: "Address to listen on, HOST:PORT.")
    var listen = "127.0.0.1:7480"

    @Option(help: "Start from a backup file (`kumo backup create`); the data directory must not hold a store yet. The secrets in it open only with the key they were sealed with: give --secrets-key, or --backup-passphrase-file for a backup taken with --include-secrets-key; without either, the start refuses a backup whose secrets it cannot open.")
    var restore: String?

    @Option(help: "With --restore: the secrets.key file from the data directory the backup was taken from.")
    var secretsKey: String?

    @Option(help: "With --restore: a file holding the passphrase of a backup taken with `kumo backup create --include-secrets-key`.")
    var backupPassphraseFile: String?

    @Flag(help: "fsync the write-ahead log on every commit (survives power loss; fewer writes/s). Default survives process crashes.")
    var synchronousFull = false

    @Option(help: "Keep history records this many hours.")
    var historyMaxAgeHours: Int = 24 * 7

    @Option(help: "Keep at most this many history records per object.")
    var historyMaxPerObject: Int = 100

    @Option(help: "Remove events this many hours after they last happened.")
    var eventTTLHours: Int = 24

    @Option(help: "Keep at least this many store revisions for watch replay (older `since` → 410).")
    var compactKeepRevisions: Int64 = 100_000

    @Option(help: "Pod network, split into one /24 per node.")
    var clusterCIDR = "10.244.0.0/16"

    @Option(help: "Service VIPs (spec.clusterIP) come from this network.")
    var serviceCIDR = "10.96.0.0/16"

    @Option(help: "Seconds between autoscaler rounds (each reads every node's HAProxy figures).")
    var autoscaleIntervalSeconds = 3

    @Option(help: "Size of each node's pod subnet, as a prefix length (24 = a /24 per node).")
    var nodeSubnetSize = 24

    @Option(help: "Seconds without a heartbeat before a node is NotReady and its replicas are replaced elsewhere.")
    var nodeGraceSeconds = 6
    @Option(help: "Largest image blob accepted by `PUT /api/v1/blobs/{digest}`, in bytes (streamed to disk).")
    var maxBlobBytes: Int64 = 4 << 30

    @Option(help: "An operator's certificate chain (PEM) to serve instead of one from the cluster CA (with --tls-key); re-read when the file changes.")
    var tlsCert: String?

    @Option(help: "The private key (PEM) of --tls-cert.")
    var tlsKey: String?

    @Option(help: "Another DNS name or IP address for the serving certificate (repeatable).")
    var tlsSan: [String] = []

    @Option(help: ArgumentHelp("Lifetime of the serving certificate the server issues itself, in seconds (renewed with a third left).", visibility: .hidden))
    var servingCertLifetimeSeconds: Int = 365 * 86400

    @Option(help: ArgumentHelp("Seconds between checks of the serving certificate (renewal, or the re-read of --tls-cert files); default 60, 1 with a lifetime under 600 s.", visibility: .hidden))
    var certificateCheckSeconds: Int?

    @Option(help: "Seconds between the doctor's evaluations of every health check (`kumo doctor`).")
    var doctorIntervalSeconds = 5
    @Option(help: ArgumentHelp("Test seam: delay every store commit by this many milliseconds (kumo doctor's slow-store tests).", visibility: .hidden))
    var faultCommitDelayMs: Int?
    @OptionGroup var logging: LogLevelOption

    func validate() throws {
        guard nodeGraceSeconds >= 2 else { throw ValidationError("--node-grace-seconds must be at least 2") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("pass both --tls-cert and --tls-key, or neither") }
        guard servingCertLifetimeSeconds >= 3 else { throw ValidationError("--serving-cert-lifetime-seconds must be at least 3") }
        guard historyMaxPerObject > 0, historyMaxAgeHours > 0, eventTTLHours > 0, compactKeepRevisions > 0 else {
            throw ValidationError("retention settings must be positive")
        }
        _ = try parseListen()
        if restore == nil, secretsKey != nil || backupPassphraseFile != nil {
            throw ValidationError("--secrets-key and --backup-passphrase-file go with --restore FILE")
        }
        if secretsKey != nil, backupPassphraseFile != nil {
            throw ValidationError("pass --secrets-key or --backup-passphrase-file, not both")
        }
    }

    func parseListen() throws -> (host: String, port: Int) {
        try KumoCLI.parseListen(listen, ports: 0...65535, example: "127.0.0.1:7480 or 0.0.0.0:7480")
    }

    static func defaultDataDir() -> String {
        if getuid() == 0 { return "/var/lib/kumo" }
        return (ProcessInfo.processInfo.environment["HOME"] ?? ".") + "/.kumo/server"
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "kumo.server")
        let (host, port) = try parseListen()
        let dir = dataDir ?? Self.defaultDataDir()
        try await runReporting {
            if let restore {
                var passphrase: String? = nil
                if let backupPassphraseFile {
                    guard let text = SecureFile.readSecret(backupPassphraseFile) else {
                        throw KumoError(.notFound, "cannot read the passphrase file \(backupPassphraseFile)", field: "backup-passphrase-file")
                    }
                    passphrase = text
                }
                try await KumoServer.restore(
                    from: restore, into: dir, secretsKey: secretsKey, passphrase: passphrase, logger: logger)
                logger.notice("restored store from backup", metadata: ["backup": "\(restore)", "dataDir": "\(dir)"])
            }
            var config = ServerConfiguration(
                dataDir: dir, host: host, port: port, synchronousFull: synchronousFull,
                historyMaxAge: .seconds(historyMaxAgeHours * 3600), historyMaxPerObject: historyMaxPerObject,
                eventTTL: .seconds(eventTTLHours * 3600), compactKeepRevisions: compactKeepRevisions,
                clusterCIDR: clusterCIDR, nodeGracePeriod: .seconds(nodeGraceSeconds), maxBlobBytes: maxBlobBytes)
            config.nodeSubnetPrefixLength = nodeSubnetSize
            config.serviceCIDR = serviceCIDR
            config.autoscaleInterval = .seconds(max(1, autoscaleIntervalSeconds))
            config.doctorInterval = .seconds(max(1, doctorIntervalSeconds))
            if let faultCommitDelayMs, faultCommitDelayMs > 0 { config.faultCommitDelay = .milliseconds(min(faultCommitDelayMs, 60_000)) }
            if let tlsCert, let tlsKey { config.tls = .files(certificate: tlsCert, key: tlsKey) }
            config.extraSANs = tlsSan
            config.servingCertificateLifetime = .seconds(servingCertLifetimeSeconds)
            if servingCertLifetimeSeconds < 600 { config.certificateCheckInterval = .seconds(1) }
            if let certificateCheckSeconds { config.certificateCheckInterval = .seconds(max(1, certificateCheckSeconds)) }
            let tokenPath = config.adminTokenPath
            let caPath = config.caCertPath
            let server = try KumoServer(config: config, logger: logger) { port in
                logger.notice(
                    "kumo server ready",
                    metadata: ["url": "https://\(host):\(port)", "adminToken": "\(tokenPath)", "ca": "\(caPath)"])
            }
            try await server.run()
        }
    }
}
