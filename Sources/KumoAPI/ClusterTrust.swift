import AsyncHTTPClient
import Crypto
import Foundation
import KumoModel
import NIOCore
import NIOSSL
import Synchronization

/// How clients trust a Kumo server: the cluster CA (PEM) they pinned — from a join token's hash, `kumo login`'s
/// first contact or `--ca FILE` — is the only trust root of their HTTPS connections (never the system's roots).
public enum ClusterTrust {
    /// The fingerprint of a CA bundle: SHA-256 over the DER encodings of its certificates, in order, lower-case
    /// hex. For the usual one-certificate bundle it is the SHA-256 of the CA's DER (what `K10…` tokens carry).
    public static func fingerprint(pem: String) throws(KumoError) -> String {
        let certs = try certificates(pem: pem)
        var hasher = SHA256()
        for c in certs {
            guard let der = try? c.toDERBytes() else {
                throw KumoError(.invalid, "failed to encode a CA certificate as DER")
            }
            hasher.update(data: der)
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    public static func certificates(pem: String) throws(KumoError) -> [NIOSSLCertificate] {
        do {
            let certs = try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8))
            guard !certs.isEmpty else { throw KumoError(.invalid, "no certificate in the CA bundle") }
            return certs
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.invalid, "not a PEM certificate bundle: \(error)", cause: error)
        }
    }

    /// `aa:bb:…` form of a fingerprint, for people to compare.
    public static func display(_ fingerprint: String) -> String {
        var out: [String] = []
        var i = fingerprint.startIndex
        while i < fingerprint.endIndex {
            let j = fingerprint.index(i, offsetBy: 2, limitedBy: fingerprint.endIndex) ?? fingerprint.endIndex
            out.append(String(fingerprint[i..<j]))
            i = j
        }
        return "sha256:" + out.joined(separator: ":")
    }

    /// A new HTTP client, owned (and shut down) by the caller, that trusts only `caPEM` — nil: the system's trust
    /// roots, for a server with an operator's certificate. A `caPEM` that does not parse is an error: pinning
    /// never falls back to the system's roots.
    public static func httpClient(caPEM: String?, identity: (chainPEM: String, keyPEM: String)? = nil) throws(KumoError)
        -> HTTPClient
    {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caPEM { tls.trustRoots = .certificates(try certificates(pem: caPEM)) }
        tls.minimumTLSVersion = .tlsv12
        if let identity {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(identity.chainPEM.utf8)).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(identity.keyPEM.utf8), format: .pem))
            } catch {
                throw KumoError(.invalid, "failed to load the client certificate: \(error)", cause: error)
            }
        }
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        // a refused connection still fails at once. AHC also holds requests queued for a pooled connection to
        // this timeout: a busy server (TLS handshakes, slow answers) gets 20 s before a queued request fails
        config.connectionPool.retryConnectionEstablishment = false
        config.timeout = .init(connect: .seconds(20))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// The HTTP client of a `KumoClient` that refuses to send (its CA did not parse): it trusts nothing, and is
    /// never used.
    static func refusingHTTPClient() -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([])
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
    }

    /// A client that checks nothing: only for fetching `/cacerts`, whose answer is then checked against a pin or
    /// shown to a person. Never used to send a secret; shut down after the one fetch.
    static func unverifiedHTTP() -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var config = HTTPClient.Configuration(tlsConfiguration: tls)
        config.connectionPool.retryConnectionEstablishment = false
        config.timeout = .init(connect: .seconds(5))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// The CA bundle a server presents at `/cacerts` (unverified: check its fingerprint before trusting it).
    public static func fetchCA(server: String) async throws(KumoError) -> String {
        var base = server
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("https://") else {
            throw KumoError(.invalid, "\(server) is not an https:// URL: Kumo servers speak only HTTPS", field: "server")
        }
        let http = unverifiedHTTP()
        do {
            let response = try await http.execute(HTTPClientRequest(url: base + "/cacerts"), timeout: .seconds(15))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status.code == 200 else {
                throw KumoError(.unavailable, "\(base)/cacerts answered \(response.status.code)")
            }
            let pem = String(buffer: body)
            _ = try certificates(pem: pem)
            try? await http.shutdown()
            return pem
        } catch let e as KumoError {
            try? await http.shutdown()
            throw e
        } catch {
            try? await http.shutdown()
            throw KumoError(.unavailable, "failed to fetch the cluster CA from \(base)/cacerts: \(error)", cause: error)
        }
    }
}

/// A join token: `K10<sha256 of the cluster CA>::<secret>`. Only the secret is a bearer credential; the hash
/// lets an agent check the server before it sends the secret.
public struct JoinToken: Sendable, Equatable {
    public var caFingerprint: String?
    public var secret: String

    public init(caFingerprint: String?, secret: String) {
        self.caFingerprint = caFingerprint
        self.secret = secret
    }

    public init(parsing text: String) throws(KumoError) {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix("K10"), let sep = t.range(of: "::") else {
            self.init(caFingerprint: nil, secret: t)
            return
        }
        let hash = String(t[t.index(t.startIndex, offsetBy: 3)..<sep.lowerBound]).lowercased()
        guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit }) else {
            throw KumoError(.invalid, "malformed join token: expected K10<64 hex digits>::<secret>", field: "join-token")
        }
        let secret = String(t[sep.upperBound...])
        guard !secret.isEmpty else { throw KumoError(.invalid, "malformed join token: no secret after ::", field: "join-token") }
        self.init(caFingerprint: hash, secret: secret)
    }

    public var text: String { caFingerprint.map { "K10\($0)::\(secret)" } ?? secret }
}
