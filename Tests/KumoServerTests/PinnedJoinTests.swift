import Foundation
import KumoAPI
import KumoAgent
import KumoModel
import Testing

@testable import KumoServer

@Suite("Pinned join: K10<CA hash>::<secret> tokens")
struct PinnedJoinTests {
    @Test("join tokens parse; malformed ones are refused with a clear error")
    func parsing() throws {
        let hash = String(repeating: "0f", count: 32)
        let t = try JoinToken(parsing: " K10\(hash)::kumo_abc\n")
        #expect(t.caFingerprint == hash && t.secret == "kumo_abc")
        #expect(t.text == "K10\(hash)::kumo_abc")
        let plain = try JoinToken(parsing: "kumo_abc")
        #expect(plain.caFingerprint == nil && plain.secret == "kumo_abc")
        for bad in ["K10abc::x", "K10\(hash)::", "K10\(String(repeating: "zz", count: 32))::x"] {
            #expect(throws: KumoError.self) { _ = try JoinToken(parsing: bad) }
        }
    }

    @Test("the agent's join checks the server's CA first: a wrong pin is refused and the secret never used; the right one joins and gets a certificate for its address")
    func joinChecksCA() async throws {
        try await withServer { s in
            let created = try await s.admin.send(
                .POST, "/api/v1/tokens", body: Array(try JSONEncoder().encode(TokenRequest(name: "j", role: .join)))
            ).decode(TokenInfo.self)
            let token = try JoinToken(parsing: try #require(created.token))
            let wrong = JoinToken(caFingerprint: String(repeating: "ab", count: 32), secret: token.secret).text
            let refused = await kumoError {
                _ = try await AgentAPI.join(server: s.url, joinToken: wrong, node: "n1", addresses: ["192.0.2.30"])
            }
            #expect(refused?.code == .forbidden)
            #expect(refused?.message.contains("refusing to join") == true, "\(refused?.message ?? "")")
            let unused = try await s.admin.send(.GET, "/api/v1/tokens").decode(TokenList.self).items.first { $0.id == "j" }
            #expect(unused?.lastUsedAt == nil, "the secret was never sent")

            let (info, ca) = try await AgentAPI.join(
                server: s.url, joinToken: created.token!, node: "n1", addresses: ["192.0.2.30"])
            #expect(ca == s.caPEM)
            #expect(info.role == .node && info.token != nil && info.serverCredential != nil)
            let cert = try #require(info.agentCertificate)
            let chain = try ClusterTrust.certificates(pem: cert)
            #expect(chain.count == 2, "leaf and CA")
            // the leaf is for the agent's address and node name, signed by the cluster CA
            let names = try ServingCertificate.parse(chainPEM: cert, keyPEM: try #require(info.agentKey), stamp: "").names
            #expect(names.contains("192.0.2.30") && names.contains("n1"), "\(names)")
            // a bad address is left out, not an error
            let odd = try await AgentAPI.join(server: s.url, joinToken: created.token!, node: "n2", addresses: ["not-an-ip"])
            #expect(odd.info.agentCertificate != nil)
        }
    }
}
