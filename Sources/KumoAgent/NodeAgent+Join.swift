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
        let (info, ca) = try await joinWaiting(joinToken: join, address: address, trustedCA: trusted)
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

    /// The join, retried while the server cannot be reached or answers 503 (an agent started before its server,
    /// or across a network blip, keeps trying, as registration does); any other answer — a wrong CA pin, a
    /// revoked token, bad input — ends it at once. A join token serves any number of joins, so a retry after an
    /// answer that was lost is safe.
    func joinWaiting(
        joinToken: String, address: String, trustedCA: String?, maxDelay: Duration = .seconds(5)
    ) async throws(KumoError) -> (info: TokenInfo, caPEM: String?) {
        var delay = Duration.milliseconds(200)
        var lastLogged: ContinuousClock.Instant?
        while true {
            do {
                let joined = try await AgentAPI.join(
                    server: config.server, joinToken: joinToken, node: config.nodeName, addresses: [address],
                    trustedCA: trustedCA)
                registrationWait.withLock { $0 = nil }
                return joined
            } catch where error.code == .unavailable {
                if lastLogged.map({ ContinuousClock.now - $0 > .seconds(60) }) ?? true {
                    logger.warning(
                        "server unreachable; retrying the join", metadata: ["server": "\(config.server)", "error": "\(error.message)"])
                    lastLogged = ContinuousClock.now
                }
                registrationWait.withLock { $0 = "joining: \(error.message)" }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, maxDelay)
                if Task.isCancelled { throw error }
            }
        }
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
