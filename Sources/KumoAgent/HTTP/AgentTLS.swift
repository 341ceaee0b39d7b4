import Foundation
import KumoAPI
import KumoModel
import NIOSSL

/// TLS of the agent's endpoint: the certificate the server issued at join (for the agent's address, signed by the
/// cluster CA), and client certificates required and checked against the cluster CA — only the server's proxy
/// (which also sends the server credential) gets an answer.
enum AgentTLS {
    /// nil when the agent has no certificate (joined a plain-HTTP server).
    static func serverConfiguration(config: AgentConfiguration, caPEM: String?) throws(KumoError) -> TLSConfiguration? {
        guard let caPEM, let chain = try? String(contentsOfFile: config.agentCertPath, encoding: .utf8),
            let key = try? String(contentsOfFile: config.agentKeyPath, encoding: .utf8)
        else { return nil }
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
