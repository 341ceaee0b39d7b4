import Crypto
import Foundation
import KumoAPI
import KumoModel
import SwiftASN1
import X509

/// The cluster CA: made on the server's first start (`<data-dir>/ca.crt`, `ca.key`, both 0600), it signs the
/// server's serving certificate and each agent's endpoint certificate. Clients pin it: a join token carries the
/// SHA-256 of its DER (`K10<hex>::<secret>`), `kumo login` stores it in the client configuration.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    let key: Certificate.PrivateKey
    /// The CA certificate in PEM, as served at `/cacerts`.
    public let pem: String

    /// Loads the CA from `certPath`/`keyPath`, creating both (0600) when neither exists.
    public static func loadOrCreate(certPath: String, keyPath: String, now: Date = Date()) throws(KumoError)
        -> CertificateAuthority
    {
        let fm = FileManager.default
        if fm.fileExists(atPath: certPath) || fm.fileExists(atPath: keyPath) {
            guard let certPEM = try? String(contentsOfFile: certPath, encoding: .utf8),
                let keyPEM = try? String(contentsOfFile: keyPath, encoding: .utf8)
            else {
                throw KumoError(
                    .internal, "the cluster CA is incomplete: \(certPath) and \(keyPath) must both exist (restore both, or remove both to make a new CA — every agent must then join again)")
            }
            do {
                return CertificateAuthority(
                    certificate: try Certificate(pemEncoded: certPEM), key: try Certificate.PrivateKey(pemEncoded: keyPEM),
                    pem: certPEM)
            } catch {
                throw KumoError(.internal, "failed to read the cluster CA \(certPath): \(error)", cause: error)
            }
        }
        let ca = try make(now: now)
        do {
            try SecureFile.write(Data((try ca.key.serializeAsPEM().pemString + "\n").utf8), to: keyPath)
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.internal, "failed to write \(keyPath): \(error)", cause: error)
        }
        try SecureFile.write(Data(ca.pem.utf8), to: certPath)
        return ca
    }

    /// A new self-signed CA, valid for 10 years.
    static func make(now: Date) throws(KumoError) -> CertificateAuthority {
        let swiftKey = P256.Signing.PrivateKey()
        let key = Certificate.PrivateKey(swiftKey)
        do {
            let name = try DistinguishedName {
                OrganizationName("kumo")
                CommonName("kumo cluster CA \(Self.shortID())")
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            }
            let cert = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: key.publicKey,
                notValidBefore: now - 3600, notValidAfter: now + 10 * 365 * 86400, issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: key)
            return CertificateAuthority(certificate: cert, key: key, pem: try cert.serializeAsPEM().pemString + "\n")
        } catch {
            throw KumoError(.internal, "failed to create the cluster CA: \(error)", cause: error)
        }
    }

    /// A leaf certificate signed by this CA for `dnsNames` and `ipAddresses` (both server and client use).
    /// Returns (certificate chain PEM: leaf then CA, private key PEM).
    public func issue(
        commonName: String, dnsNames: [String], ipAddresses: [String], lifetime: Duration, now: Date = Date()
    ) throws(KumoError) -> IssuedCertificate {
        let swiftKey = P256.Signing.PrivateKey()
        let leafKey = Certificate.PrivateKey(swiftKey)
        let seconds = lifetime.secondsValue
        do {
            var names: [GeneralName] = Array(Set(dnsNames)).sorted().map { .dnsName($0) }
            for ip in Set(ipAddresses).sorted() {
                if let bytes = Self.ipBytes(ip) { names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...]))) }
            }
            let sans = names
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(sans)
                SubjectKeyIdentifier(hash: leafKey.publicKey)
            }
            let cert = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: leafKey.publicKey,
                // a little slack for clocks that are behind, but never more than the lifetime (short test certs)
                notValidBefore: now - min(300, seconds / 4), notValidAfter: now + seconds,
                issuer: certificate.subject, subject: try DistinguishedName { CommonName(commonName) },
                signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: key)
            return IssuedCertificate(
                chainPEM: try cert.serializeAsPEM().pemString + "\n" + pem, keyPEM: swiftKey.pemRepresentation + "\n",
                notValidBefore: cert.notValidBefore, notValidAfter: cert.notValidAfter)
        } catch {
            throw KumoError(.internal, "failed to issue a certificate for \(commonName): \(error)", cause: error)
        }
    }

    /// SHA-256 of the CA's DER encoding, lower-case hex: what join tokens pin.
    public var fingerprint: String { (try? ClusterTrust.fingerprint(pem: pem)) ?? "" }

    static func ipBytes(_ s: String) -> [UInt8]? {
        if let v4 = IPv4Address(s) { return withUnsafeBytes(of: v4.value.bigEndian) { Array($0) } }
        var addr = in6_addr()
        guard inet_pton(AF_INET6, s, &addr) == 1 else { return nil }
        return withUnsafeBytes(of: &addr) { Array($0) }
    }

    static func shortID() -> String { String(UInt32.random(in: 0...UInt32.max), radix: 16) }
}

/// A certificate chain and its private key, in PEM.
public struct IssuedCertificate: Sendable, Codable, Equatable {
    public var chainPEM: String
    public var keyPEM: String
    public var notValidBefore: Date
    public var notValidAfter: Date
}
