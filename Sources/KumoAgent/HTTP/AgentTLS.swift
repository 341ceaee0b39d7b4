import Foundation
import KumoAPI
import KumoModel
import NIOSSL

/// TLS of the agent's endpoint: the certificate the server issued at join (for the agent's address, signed by the
/// cluster CA), and client certificates required and checked against the cluster CA — only the server's proxy
/// (which also sends the server credential) gets an answer.
enum AgentTLS {
    /// nil only when the agent has no cluster CA (it joined a plain-HTTP server). With a CA, a missing or unreadable
    /// certificate or key is an error: serving plain HTTP then would be a silent downgrade.
    static func serverConfiguration(config: AgentConfiguration, caPEM: String?) throws(KumoError) -> TLSConfiguration? {
        guard let caPEM else { return nil }
        let chain: String
        let key: String
        do {
            chain = try String(contentsOfFile: config.agentCertPath, encoding: .utf8)
            key = try String(contentsOfFile: config.agentKeyPath, encoding: .utf8)
        } catch {
            throw KumoError(
                .unavailable,
                "cannot read the agent's endpoint certificate (\(config.agentCertPath), \(config.agentKeyPath)): \(error). "
                    + "Run `kumo agent reset` and join again",
                field: "agent-certificate", cause: error)
        }
        do {
            var tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(chain.utf8)).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem)))
            tls.minimumTLSVersion = .tlsv12
            // on close, wait this little for the peer's close_notify: the server's idle pooled connections never
            // send one, and a graceful stop (agent restart) must not hang on them past the node grace period
            tls.shutdownTimeout = .milliseconds(100)
            tls.trustRoots = .certificates(try ClusterTrust.certificates(pem: caPEM))
            tls.certificateVerification = .noHostnameVerification
            return tls
        } catch let e as KumoError {
            throw e
        } catch {
            throw KumoError(.internal, "failed to load the agent certificate \(config.agentCertPath): \(error)", cause: error)
        }
    }
}
