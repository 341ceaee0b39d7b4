import Foundation
import KumoAPI
import KumoModel
import KumoSystem
import Logging

/// Joining (join token → node token, with the cluster CA, the endpoint certificate and the server credential)
/// and registering the Node.
extension NodeAgent {
    /// The node token saved from an earlier join, or a new one from the join token (after checking the server's
    /// CA against the token's pin); the CA, the endpoint certificate and the server credential are kept with it.
    func nodeToken(address: String) async throws(KumoError) -> String {
        if let saved = SecureFile.readSecret(config.nodeTokenPath) {
            credential.withLock { $0 = SecureFile.readSecret(config.serverCredentialPath) }
            return saved
        }
        guard let join = config.joinToken, !join.isEmpty else {
            throw KumoError(
                .unauthorized,
                "no node token in \(config.nodeTokenPath) and no --join-token: create one with `kumo token create --join`",
                field: "join-token")
        }
        var trusted: String? = nil
        if let file = config.caFile {
            guard let pem = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw KumoError(.notFound, "cannot read the CA file \(file)", field: "ca")
            }
            trusted = pem
        }
        let (info, ca) = try await AgentAPI.join(
            server: config.server, joinToken: join, node: config.nodeName, addresses: [address], trustedCA: trusted)
        guard let token = info.token else { throw KumoError(.internal, "the server's join answer has no node token") }
        if let ca { try SecureFile.write(Data(ca.utf8), to: config.caPath) }
        if let cert = info.agentCertificate, let key = info.agentKey {
            try SecureFile.write(Data(key.utf8), to: config.agentKeyPath)
            try SecureFile.write(Data(cert.utf8), to: config.agentCertPath)
        }
        if let c = info.serverCredential {
            try SecureFile.write(Data((c + "\n").utf8), to: config.serverCredentialPath)
            credential.withLock { $0 = c }
        }
        // last: a node token on disk means the join is complete
        try SecureFile.write(Data((token + "\n").utf8), to: config.nodeTokenPath)
        logger.notice("joined the cluster", metadata: ["node": "\(config.nodeName)", "identity": "\(info.identity)"])
        return token
    }

    /// Registration, waiting as long as it must (`NodeRegistration.registerWaiting`).
    func register(api: AgentAPI, agentURL: String, address: String) async throws(KumoError) -> IPv4Network {
        let registration = NodeRegistration(api: api, config: config, logger: logger)
        let subnet = try await registration.registerWaiting(agentURL: agentURL, addresses: [address]) { why in
            self.registrationWait.withLock { $0 = why }
        }
        registrationWait.withLock { $0 = nil }
        return subnet
    }
}
