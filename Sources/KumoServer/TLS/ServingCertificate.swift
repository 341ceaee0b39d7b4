import Foundation
import KumoAPI
import KumoModel
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization
import X509

/// The certificate the API server presents. Every TLS handshake asks this object for the current chain and key
/// (`sslContextCallback`), so renewing it — or an operator replacing the files — takes effect for new
/// connections without a restart.
///
/// - automatic: `server.crt`/`server.key` (0600) signed by the cluster CA, for the listen address, the hostname,
///   `localhost`, 127.0.0.1 and `--tls-san`s; re-issued when a third of its lifetime is left or a name is missing.
/// - files: the operator's `--tls-cert`/`--tls-key`, re-read when either file's modification time changes.
public final class ServingCertificate: Sendable {
    struct Current: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
        var notValidBefore: Date
        var notValidAfter: Date
        var serial: String
        var names: [String]
        var stamp: String
        var renewals: Int
    }

    let mode: ServerConfiguration.TLSMode
    let ca: CertificateAuthority
    let config: ServerConfiguration
    let logger: Logger
    private let current: Mutex<Current>
    /// TLS handshakes begun (one per new connection): with keep-alive clients it grows with connections, not requests.
    private let handshakes = Atomic<Int>(0)
    /// Called once per handshake (the `kumo_tls_handshakes_total` counter).
    let onHandshake: @Sendable () -> Void

    public init(
        config: ServerConfiguration, ca: CertificateAuthority, logger: Logger, now: Date = Date(),
        onHandshake: @escaping @Sendable () -> Void = {}
    ) throws(KumoError) {
        self.onHandshake = onHandshake
        self.mode = config.tls
        self.ca = ca
        self.config = config
        self.logger = logger
        let first: Current
        switch config.tls {
        case .files(let cert, let key):
            first = try Self.loadFiles(cert: cert, key: key)
        case .automatic, .plainHTTP:
            first = try Self.loadOrIssue(config: config, ca: ca, logger: logger, now: now)
        }
        current = Mutex(first)
    }

    /// Names and addresses the automatic certificate must cover.
    static func wantedNames(_ config: ServerConfiguration) -> (dns: [String], ips: [String]) {
        var dns: Set<String> = ["localhost"]
        var ips: Set<String> = ["127.0.0.1", "::1"]
        var hostBuf = [CChar](repeating: 0, count: 256)
        if gethostname(&hostBuf, hostBuf.count) == 0 {
            let h = Self.string(hostBuf)
            if !h.isEmpty { dns.insert(h) }
        }
        for name in [config.host] + config.extraSANs where !name.isEmpty {
            if name == "0.0.0.0" || name == "::" {
                ips.formUnion(localAddresses())
            } else if CertificateAuthority.ipBytes(name) != nil {
                ips.insert(name)
            } else {
                dns.insert(name)
            }
        }
        return (dns.sorted(), ips.sorted())
    }

    /// The IPv4 addresses of this host's interfaces (a server listening on 0.0.0.0 is reached at any of them).
    static func localAddresses() -> [String] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var out: [String] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(addr, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 {
                out.append(Self.string(host))
            }
        }
        return out
    }

    /// A NUL-terminated C buffer as a String.
    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func loadOrIssue(config: ServerConfiguration, ca: CertificateAuthority, logger: Logger, now: Date) throws(KumoError)
        -> Current
    {
        if let chain = try? String(contentsOfFile: config.servingCertPath, encoding: .utf8),
            let key = try? String(contentsOfFile: config.servingKeyPath, encoding: .utf8),
            let existing = try? parse(chainPEM: chain, keyPEM: key, stamp: "file"),
            !needsRenewal(existing, config: config, now: now)
        {
            return existing
        }
        return try issue(config: config, ca: ca, logger: logger, now: now, renewals: 0)
    }

    static func issue(config: ServerConfiguration, ca: CertificateAuthority, logger: Logger, now: Date, renewals: Int)
        throws(KumoError) -> Current
    {
        let (dns, ips) = wantedNames(config)
        let issued = try ca.issue(
            commonName: "kumo server", dnsNames: dns, ipAddresses: ips, lifetime: config.servingCertificateLifetime, now: now)
        try SecureFile.write(Data(issued.keyPEM.utf8), to: config.servingKeyPath)
        try SecureFile.write(Data(issued.chainPEM.utf8), to: config.servingCertPath)
        var c = try parse(chainPEM: issued.chainPEM, keyPEM: issued.keyPEM, stamp: "issued")
        c.renewals = renewals
        logger.notice(
            "issued the serving certificate",
            metadata: ["serial": "\(c.serial)", "notValidAfter": "\(c.notValidAfter)", "names": "\(c.names.joined(separator: ","))"])
        return c
    }

    static func needsRenewal(_ c: Current, config: ServerConfiguration, now: Date) -> Bool {
        let lifetime = c.notValidAfter.timeIntervalSince(c.notValidBefore)
        if c.notValidAfter.timeIntervalSince(now) < lifetime / 3 { return true }
        let (dns, ips) = wantedNames(config)
        return !Set(dns + ips).isSubset(of: Set(c.names))
    }

    static func loadFiles(cert: String, key: String) throws(KumoError) -> Current {
        guard let chain = try? String(contentsOfFile: cert, encoding: .utf8) else {
            throw KumoError(.invalid, "cannot read the TLS certificate \(cert)", field: "tls-cert")
        }
        guard let keyPEM = try? String(contentsOfFile: key, encoding: .utf8) else {
            throw KumoError(.invalid, "cannot read the TLS key \(key)", field: "tls-key")
        }
        return try parse(chainPEM: chain, keyPEM: keyPEM, stamp: stamp(cert) + stamp(key))
    }

    static func stamp(_ path: String) -> String {
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        let date = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\(date)/\((attrs?[.size] as? NSNumber)?.intValue ?? 0);"
    }

    static func parse(chainPEM: String, keyPEM: String, stamp: String) throws(KumoError) -> Current {
        do {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(chainPEM.utf8))
            guard let leafNIO = chain.first else { throw KumoError(.invalid, "no certificate in the chain", field: "tls-cert") }
            let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
            let leaf = try Certificate(derEncoded: try leafNIO.toDERBytes())
            var names: [String] = []
            if let sans = try leaf.extensions.subjectAlternativeNames {
                for n in sans {
                    switch n {
                    case .dnsName(let d): names.append(d)
                    case .ipAddress(let o):
                        let b = Array(o.bytes)
                        if b.count == 4 {
                            names.append(b.map(String.init).joined(separator: "."))
                        } else if b.count == 16 {
                            var addr = in6_addr()
                            withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: b) }
                            var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                            if inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count)) != nil { names.append(Self.string(buf)) }
                        }
                    default: break
                    }
                }
            }
            return Current(
                chain: chain, key: key, notValidBefore: leaf.notValidBefore, notValidAfter: leaf.notValidAfter,
                serial: "\(leaf.serialNumber)", names: names, stamp: stamp, renewals: 0)
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.invalid, "failed to load the TLS certificate and key: \(error)", cause: error)
        }
    }

    /// Re-issues (automatic) or re-reads (files) the certificate when due. Returns whether it changed.
    @discardableResult
    public func refresh(now: Date = Date()) throws(KumoError) -> Bool {
        let c = current.withLock { $0 }
        switch mode {
        case .files(let cert, let key):
            guard Self.stamp(cert) + Self.stamp(key) != c.stamp else { return false }
            var next = try Self.loadFiles(cert: cert, key: key)
            next.renewals = c.renewals + 1
            current.withLock { $0 = next }
            logger.notice("reloaded the operator's TLS certificate", metadata: ["serial": "\(next.serial)", "path": "\(cert)"])
            return true
        case .automatic, .plainHTTP:
            guard Self.needsRenewal(c, config: config, now: now) else { return false }
            let next = try Self.issue(config: config, ca: ca, logger: logger, now: now, renewals: c.renewals + 1)
            current.withLock { $0 = next }
            return true
        }
    }

    /// The server's TLS configuration: TLS 1.2+, and the current chain and key looked up at every handshake.
    public func tlsConfiguration() -> TLSConfiguration {
        let c = current.withLock { $0 }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: c.chain.map { .certificate($0) }, privateKey: .privateKey(c.key))
        tls.minimumTLSVersion = .tlsv12
        // on close, wait this long for the peer's close_notify: the server reads only on demand, so an idle
        // keep-alive connection's answer is never read and every close would otherwise take NIOSSL's 5 s default
        tls.shutdownTimeout = .milliseconds(100)
        tls.sslContextCallback = { [weak self] _, promise in
            guard let self else { return promise.succeed(.noChanges) }
            self.handshakes.wrappingAdd(1, ordering: .relaxed)
            self.onHandshake()
            let now = self.current.withLock { $0 }
            var o = NIOSSLContextConfigurationOverride()
            o.certificateChain = now.chain.map { .certificate($0) }
            o.privateKey = .privateKey(now.key)
            promise.succeed(o)
        }
        return tls
    }

    public func snapshot() -> JSONValue {
        let c = current.withLock { $0 }
        let source: String
        switch mode {
        case .files(let cert, _): source = "operator file \(cert)"
        case .automatic: source = "cluster CA"
        case .plainHTTP: source = "none (plain HTTP)"
        }
        return [
            "source": .string(source), "serial": .string(c.serial), "names": .array(c.names.map { .string($0) }),
            "notValidBefore": .string(Timestamp(millisecondsSinceEpoch: Int64(c.notValidBefore.timeIntervalSince1970 * 1000)).rfc3339),
            "notValidAfter": .string(Timestamp(millisecondsSinceEpoch: Int64(c.notValidAfter.timeIntervalSince1970 * 1000)).rfc3339), "renewals": .number(Double(c.renewals)),
            "caFingerprint": .string(ca.fingerprint), "handshakes": .number(Double(handshakes.load(ordering: .relaxed))),
        ]
    }
}

/// Checks the serving certificate every `certificateCheckInterval` and renews it when due.
struct CertificateRenewalService: ServiceLifecycle.Service {
    let serving: ServingCertificate
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try serving.refresh()
            } catch {
                // the current certificate keeps serving; the next check retries
                logger.error("failed to renew the serving certificate", metadata: ["error": "\(error)"])
            }
        }
    }
}
